package io.weft.daemon.it;

import static io.weft.daemon.it.Api.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.QueueInfo;
import io.weft.api.v1.Source;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchRequest;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.Rabbit;
import io.weft.daemon.testing.WeftdProcess;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A BUS watch whose daemon falls behind is told what it missed: the events RabbitMQ drops from the
 * monitor queue (beyond {@code bus.monitor.max-length}) are counted by weftd and reach the watch as
 * {@code Lagged} markers, so that what it received and what it was told it lost add up to what was
 * published.
 */
class BusMonitorLossIT {

    private static final int EVENTS = 3_000;
    private static final int MONITOR_MAX_LENGTH = 100;
    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void shouldReportEveryEventTheBusDroppedWhenTheMonitorStalls() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess publisher = onBus(ex.name()).start();
                WeftdProcess monitor = onBus(ex.name())
                        .env("WEFT_BUS_MONITOR_MAX_LENGTH", Integer.toString(MONITOR_MAX_LENGTH)).start()) {
            AtomicLong received = new AtomicLong();
            AtomicLong lagged = new AtomicLong();
            ViewServiceGrpc.newStub(monitor.channel()).watch(WatchRequest.newBuilder()
                    .setSource(Source.SOURCE_BUS).setMode(WatchMode.WATCH_MODE_MESSAGES)
                    .setFilter(ObjectFilter.newBuilder().addRoutingKeys("loss.#")).build(), count(received, lagged));
            Poll.until(WAIT, () -> monitor.queue("bus.monitor").getDepth() >= 1, "the monitor queue is consumed");

            monitor.sigstop();
            try {
                publish(publisher);
            } finally {
                monitor.sigcont();
            }

            Poll.until(WAIT, () -> received.get() + lagged.get() == EVENTS,
                    () -> "received " + received + " + lagged " + lagged + " = " + EVENTS + "; " + monitor.queue("bus.monitor"));
            QueueInfo q = monitor.queue("bus.monitor");
            long byBus = q.getDropsOrThrow("bus_max_length");
            assertTrue(byBus > 0, "RabbitMQ dropped from the stalled monitor's queue: " + q);
            assertTrue(lagged.get() >= byBus, "every drop by the bus reached the watch as lagged: " + lagged + " of " + q);
            assertEquals(0, q.getDropsOrThrow("bus_other"), q.toString());
        }
    }

    private static WeftdProcess.Builder onBus(String exchange) {
        return WeftdProcess.builder().env("WEFT_BUS_URL", Rabbit.url()).env("WEFT_BUS_EXCHANGE", exchange);
    }

    /** Publishes events of 8 KB, more than socket buffers and the monitor queue hold, until confirmed. */
    private static void publish(WeftdProcess publisher) {
        ContextServiceGrpc.ContextServiceBlockingStub c =
                ContextServiceGrpc.newBlockingStub(publisher.channel()).withDeadlineAfter(60, TimeUnit.SECONDS);
        PublishEventsRequest.Builder batch = PublishEventsRequest.newBuilder();
        for (int i = 0; i < EVENTS; i++) {
            batch.addEvents(event("loss-" + i, EventKind.EVENT_KIND_TRANSIENT, 1).setRoutingKey("loss.event")
                    .setFields(Api.fields(Map.of("pad", "x".repeat(8_000)))));
            if (batch.getEventsCount() == 500) {
                Api.publishRetrying(c, batch.build(), WAIT);
                batch = PublishEventsRequest.newBuilder();
            }
        }
        // The batches weigh their 8 KB events: the flush too may find the inbound queue full for a moment.
        assertTrue(Api.flushRetrying(c, WAIT).getComplete(), "the broker confirmed every event");
    }

    private static StreamObserver<WatchResponse> count(AtomicLong received, AtomicLong lagged) {
        return new StreamObserver<>() {
            @Override
            public void onNext(WatchResponse r) {
                if (r.hasMessage()) {
                    received.incrementAndGet();
                } else if (r.hasLagged()) {
                    lagged.addAndGet(r.getLagged().getDropped());
                }
            }

            @Override
            public void onError(Throwable t) {
                // The daemon closes the stream when the test ends.
            }

            @Override
            public void onCompleted() {
                // Nothing more to count.
            }
        };
    }
}
