package io.weft.daemon.core;

import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.Projection;
import io.weft.api.v1.Source;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.view.ObjectSelector;
import io.weft.daemon.view.Projector;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/** A broker driven on the test thread: commands in, {@code doWork()}, look at the results. */
final class BrokerHarness {
    static final int QUOTA = 1000;

    final FakeClock clock = new FakeClock();
    final FakeSink sink;
    final Inbound inbound;
    final BrokerAgent broker;
    final ClientSession client = new ClientSession("test");

    BrokerHarness() {
        this(settings(100, 10, 1000, 3600), 1 << 20);
    }

    BrokerHarness(BrokerSettings settings, int sinkCapacity) {
        this.sink = new FakeSink(sinkCapacity);
        this.inbound = new Inbound(1024, QUOTA);
        this.broker = new BrokerAgent(settings, clock, inbound, List.of(sink));
    }

    static BrokerSettings settings(int liveMax, int finishedMax, int clientDrainLimit, long ttlSeconds) {
        return settings(liveMax, Long.MAX_VALUE, finishedMax, Long.MAX_VALUE, clientDrainLimit, ttlSeconds);
    }

    static BrokerSettings settings(
            int liveMax, long liveMaxBytes, int finishedMax, long finishedMaxBytes, int clientDrainLimit,
            long ttlSeconds) {
        return new BrokerSettings("d1", 256, clientDrainLimit, 10_000_000L, liveMax,
                ttlSeconds * 1_000_000_000L, liveMaxBytes, finishedMax, finishedMaxBytes, 8, 4);
    }

    void publish(ContextEvent... events) {
        publish(client, events);
    }

    void publish(ClientSession session, ContextEvent... events) {
        Inbound.Refusal r = inbound.offer(new Command.Publish(session, 0, List.of(events)));
        if (r != Inbound.Refusal.NONE) {
            throw new IllegalStateException("refused: " + r);
        }
    }

    int run() {
        int total = 0;
        int w;
        while ((w = broker.doWork()) > 0) {
            total += w;
        }
        return total;
    }

    Optional<ContextObject> get(String id) {
        AtomicReference<Optional<ContextObject>> out = new AtomicReference<>();
        inbound.offer(new Command.GetObject(client, Source.SOURCE_LOCAL, id, Projector.compile(Projection.getDefaultInstance()), out::set));
        run();
        return out.get();
    }

    ListObjectsResponse list(ObjectFilter filter, int pageSize, PageCursor after) {
        AtomicReference<ListObjectsResponse> out = new AtomicReference<>();
        inbound.offer(new Command.ListObjects(client, Source.SOURCE_LOCAL, ObjectSelector.compile(filter),
                Projector.compile(Projection.getDefaultInstance()), pageSize, after, out::set));
        run();
        return out.get();
    }

    Watcher watch(WatchMode mode, boolean includeLive, int capacity) {
        Watcher w = new Watcher(mode, ObjectSelector.compile(ObjectFilter.getDefaultInstance()),
                Projector.compile(Projection.getDefaultInstance()), includeLive, capacity, () -> { });
        inbound.offer(new Command.StartWatch(client, Source.SOURCE_LOCAL, w));
        run();
        return w;
    }

    static List<WatchResponse> drain(Watcher w) {
        List<WatchResponse> out = new ArrayList<>();
        WatchResponse r;
        while ((r = w.poll()) != null) {
            out.add(r);
        }
        return out;
    }

    long counter(String name) {
        clock.advanceNs(BrokerSettings.STATUS_INTERVAL_NS);
        broker.doWork();
        return broker.status().counters().getOrDefault(name, -1L);
    }
}
