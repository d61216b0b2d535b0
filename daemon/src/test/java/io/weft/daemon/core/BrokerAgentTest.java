package io.weft.daemon.core;

import static io.weft.daemon.core.Events.born;
import static io.weft.daemon.core.Events.update;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BrokerAgentTest {

    @Test
    void shouldServeQuietClientWithinOneCycleWhenAnotherFloods() {
        BrokerHarness h = new BrokerHarness(BrokerHarness.settings(10_000, 10, 4, 3600), 1 << 20);
        Watcher w = h.watch(WatchMode.WATCH_MODE_MESSAGES, false, 4096);
        ClientSession flooder = new ClientSession("flooder");
        ClientSession quiet = new ClientSession("quiet");
        for (int i = 0; i < 100; i++) {
            h.publish(flooder, born("f" + i, Map.of()));
        }
        h.publish(quiet, born("q", Map.of()));

        h.broker.doWork();

        List<String> firstCycle = ids(BrokerHarness.drain(w));
        assertEquals(List.of("f0", "f1", "f2", "f3", "q"), firstCycle);
        h.run();
        List<String> rest = ids(BrokerHarness.drain(w));
        assertEquals(96, rest.size());
        assertEquals("f4", rest.get(0));
        assertEquals("f99", rest.get(95));
    }

    @Test
    void shouldRefuseWhenClientHasItsQuotaQueued() {
        Inbound inbound = new Inbound(64, 2);
        ClientSession a = new ClientSession("a");
        ClientSession b = new ClientSession("b");

        assertEquals(Inbound.Refusal.NONE, inbound.offer(new Command.Publish(a, 1, List.of())));
        assertEquals(Inbound.Refusal.NONE, inbound.offer(new Command.Publish(a, 2, List.of())));
        assertEquals(Inbound.Refusal.CLIENT_QUOTA, inbound.offer(new Command.Publish(a, 3, List.of())));
        assertEquals(Inbound.Refusal.NONE, inbound.offer(new Command.Publish(b, 1, List.of())));
        assertEquals(1, inbound.refusedQuota());
        assertEquals(2, a.queued());
    }

    @Test
    void shouldWeighABatchByItsEncodedSizeWhenItsEventsAreLarge() {
        ClientSession a = new ClientSession("a");
        io.weft.api.v1.ContextEvent small = born("s", Map.of("k", "v"));
        io.weft.api.v1.ContextEvent large = born("l", Map.of("blob", "x".repeat(10_000)));
        int largeUnits = (large.getSerializedSize() + Command.WEIGHT_UNIT_BYTES - 1) / Command.WEIGHT_UNIT_BYTES;
        assertEquals(20, largeUnits, "10,000 bytes in 512-byte units");
        assertEquals(3, new Command.Publish(a, 0, List.of(small, small, small)).weight(), "small events weigh one each");
        assertEquals(largeUnits, new Command.Publish(a, 0, List.of(large)).weight());
        assertEquals(1, new Command.Publish(a, 0, List.of()).weight());

        Inbound inbound = new Inbound(32, 1_000);
        assertEquals(Inbound.Refusal.NONE, inbound.offer(new Command.Publish(a, 1, List.of(large))));
        assertEquals(Inbound.Refusal.NONE, inbound.offer(new Command.Publish(a, 2, List.of(large))), "under the bound");
        assertEquals(Inbound.Refusal.FULL, inbound.offer(new Command.Publish(a, 3, List.of(small))),
                "two large events fill a queue of 32 small ones");
        assertEquals(2 * largeUnits, a.queued());
    }

    @Test
    void shouldRefuseWithoutBlockingWhenInboundIsFull() {
        Inbound inbound = new Inbound(4, 100);
        ClientSession a = new ClientSession("a");
        int admitted = 0;
        for (int i = 0; i < 10; i++) {
            if (inbound.offer(new Command.Publish(a, i, List.of())) == Inbound.Refusal.NONE) {
                admitted++;
            }
        }
        assertEquals(4, admitted);
        assertEquals(6, inbound.refusedFull());
        assertEquals(4, a.queued());
    }

    @Test
    void shouldCountABatchAsItsEventsWhenBoundingTheQueue() {
        Inbound inbound = new Inbound(32, 16);
        ClientSession a = new ClientSession("a");
        ClientSession b = new ClientSession("b");

        assertEquals(Inbound.Refusal.NONE, inbound.offer(batch(a, 10)));
        assertEquals(Inbound.Refusal.NONE, inbound.offer(batch(a, 10)), "under the quota: admitted, overshooting");
        assertEquals(Inbound.Refusal.CLIENT_QUOTA, inbound.offer(batch(a, 1)));
        assertEquals(20, a.queued());
        assertEquals(Inbound.Refusal.NONE, inbound.offer(batch(b, 15)));
        assertEquals(Inbound.Refusal.FULL, inbound.offer(batch(b, 1)), "35 events queued of 32");
        assertEquals(35, inbound.depth());
        assertEquals(15, b.queued());
    }

    @Test
    void shouldResumeAPausedStreamOnceTheBrokerHasAppliedHalfItsQuota() {
        BrokerHarness h = new BrokerHarness(BrokerHarness.settings(10_000, 10, 1, 3600), 1 << 20);
        ClientSession s = new ClientSession("s");
        int[] resumed = new int[1];
        Runnable resume = () -> resumed[0]++;
        int quota = h.inbound.clientQuota();
        assertFalse(s.pause(quota, resume), "nothing queued: read on");
        for (int i = 0; i < 4; i++) {
            h.publish(s, events("o" + i, quota / 4));
        }
        assertTrue(s.pause(quota, resume), "at the quota: wait");
        assertTrue(s.isPaused());

        h.broker.doWork(); // the client drain limit of 1: one batch per cycle
        assertEquals(0, resumed[0], "three quarters still queued");
        h.broker.doWork();
        assertEquals(0, resumed[0], "half still queued");
        h.broker.doWork();
        assertEquals(1, resumed[0], "a quarter queued: resumed once");
        assertFalse(s.isPaused());
        h.run();
        assertEquals(1, resumed[0]);
        assertEquals(0, s.queued());
        assertEquals(0, h.inbound.depth());
    }

    @Test
    void shouldResumeOnceWhenInboundProcessesThePausedClientsCommands() {
        ClientSession s = new ClientSession("s");
        Inbound inbound = new Inbound(64, 4);
        inbound.offer(batch(s, 4));
        int[] resumed = new int[1];
        assertTrue(s.pause(4, () -> resumed[0]++));
        inbound.processed(batch(s, 4));
        assertEquals(1, resumed[0]);
        assertFalse(s.pause(4, () -> resumed[0]++), "nothing queued any more");
    }

    @Test
    void shouldDropOldestAndReportLaggedWhenWatcherFallsBehind() {
        BrokerHarness h = new BrokerHarness();
        Watcher slow = h.watch(WatchMode.WATCH_MODE_MESSAGES, false, 4);
        Watcher fast = h.watch(WatchMode.WATCH_MODE_MESSAGES, false, 64);
        for (int i = 0; i < 10; i++) {
            h.publish(born("o" + i, Map.of()));
        }
        h.run();

        List<WatchResponse> got = BrokerHarness.drain(slow);
        assertEquals(6, got.get(0).getLagged().getDropped());
        assertEquals(List.of("o6", "o7", "o8", "o9"), ids(got.subList(1, got.size())));
        assertEquals(6, slow.laggedTotal());
        assertEquals(10, ids(BrokerHarness.drain(fast)).size());
        assertEquals(0, fast.laggedTotal());
    }

    @Test
    void shouldSendObjectsOnFinishAndLiveSnapshotsWhenAsked() {
        BrokerHarness h = new BrokerHarness();
        h.publish(born("early", Map.of("x", 1)));
        h.run();
        Watcher finishedOnly = h.watch(WatchMode.WATCH_MODE_OBJECTS, false, 64);
        Watcher live = h.watch(WatchMode.WATCH_MODE_OBJECTS, true, 64);
        h.publish(update("early", 2, Map.of("x", 2)), Events.finished("early", 3));
        h.run();

        List<WatchResponse> f = BrokerHarness.drain(finishedOnly);
        assertEquals(1, f.size());
        assertEquals(ObjectState.OBJECT_STATE_FINISHED, f.get(0).getObject().getState());
        List<ObjectState> states = new ArrayList<>();
        for (WatchResponse r : BrokerHarness.drain(live)) {
            states.add(r.getObject().getState());
        }
        assertEquals(List.of(ObjectState.OBJECT_STATE_LIVE, ObjectState.OBJECT_STATE_LIVE,
                ObjectState.OBJECT_STATE_FINISHED), states);
    }

    @Test
    void shouldForgetWatcherWhenCancelled() {
        BrokerHarness h = new BrokerHarness();
        Watcher w = h.watch(WatchMode.WATCH_MODE_MESSAGES, false, 64);
        w.cancel();
        h.publish(born("o", Map.of()));
        h.run();

        h.counter("events_in");
        assertEquals(0, h.broker.status().watchers().size());
        assertNull(w.poll());
    }

    @Test
    void shouldCountSinkDropsWhenSinkIsFull() {
        BrokerHarness h = new BrokerHarness(BrokerHarness.settings(100, 10, 1000, 3600), 3);
        for (int i = 0; i < 5; i++) {
            h.publish(born("o" + i, Map.of()));
        }
        h.run();

        assertEquals(3, h.sink.accepted.size());
        assertEquals(2, h.counter("sink_fake_dropped_full"));
    }

    @Test
    void shouldCompleteFlushOnlyWhenSinkConfirmed() {
        BrokerHarness h = new BrokerHarness();
        List<Command.FlushOutcome> results = new ArrayList<>();
        h.publish(born("o", Map.of()));
        h.inbound.offer(new Command.Flush(h.client, 7, 5_000_000_000L, (t, outcome, pending) -> results.add(outcome)));
        h.run();
        assertTrue(results.isEmpty());
        assertFalse(h.broker.isDrained());

        h.sink.confirmAll();
        h.broker.doWork();

        assertEquals(List.of(Command.FlushOutcome.COMPLETE), results);
        assertTrue(h.broker.isDrained());
    }

    @Test
    void shouldGiveUpFlushWhenTimeoutPasses() {
        BrokerHarness h = new BrokerHarness();
        List<Long> pending = new ArrayList<>();
        h.publish(born("o", Map.of()), born("p", Map.of()));
        h.inbound.offer(new Command.Flush(h.client, 1, 1_000_000_000L, (t, outcome, p) -> {
            assertEquals(Command.FlushOutcome.TIMED_OUT, outcome);
            pending.add(p);
        }));
        h.run();
        h.clock.advanceNs(1_000_000_001L);
        h.broker.doWork();

        assertEquals(List.of(2L), pending);
        assertEquals(1, h.counter("flushes_timed_out"));
    }

    @Test
    void shouldRefuseFlushWhenMaxPendingFlushesAreWaiting() {
        BrokerHarness h = new BrokerHarness();
        List<Command.FlushOutcome> results = new ArrayList<>();
        h.publish(born("o", Map.of()));
        for (int i = 0; i < 5; i++) {
            h.inbound.offer(new Command.Flush(h.client, i, 5_000_000_000L, (t, outcome, p) -> results.add(outcome)));
        }
        h.run();

        assertEquals(List.of(Command.FlushOutcome.REFUSED), results, "four may wait (flush.max-pending), the fifth is refused");
        assertEquals(1, h.counter("flushes_refused"));
        h.sink.confirmAll();
        h.broker.doWork();
        assertEquals(5, results.size());
    }

    @Test
    void shouldCountSlowCycleWhenDutiesTakeLongerThanTheThreshold() {
        BrokerHarness h = new BrokerHarness();
        h.publish(born("o", Map.of()));
        h.clock.autoAdvanceNs = 20_000_000L;
        h.broker.doWork();
        h.clock.autoAdvanceNs = 0;

        assertEquals(1, h.counter("broker_slow_cycles"), "a 10 ms threshold; every clock read moved 20 ms");
    }

    @Test
    void shouldPageLiveInBirthOrderThenFinishedInEndOrderWhenListing() {
        BrokerHarness h = new BrokerHarness();
        h.publish(born("b", Map.of()), born("a", Map.of()), born("c", Map.of()),
                Events.event("z", io.weft.api.v1.EventKind.EVENT_KIND_TRANSIENT, 1).build());
        h.run();

        List<String> seen = new ArrayList<>();
        PageCursor cursor = PageCursor.START;
        int pages = 0;
        while (true) {
            ListObjectsResponse r = h.list(ObjectFilter.getDefaultInstance(), 2, cursor);
            pages++;
            r.getObjectsList().forEach(o -> seen.add(o.getId()));
            if (r.getNextPageToken().isEmpty()) {
                break;
            }
            cursor = PageCursor.decode(r.getNextPageToken());
        }
        assertEquals(List.of("b", "a", "c", "z"), seen);
        assertEquals(2, pages);

        ListObjectsResponse finishedOnly = h.list(ObjectFilter.newBuilder()
                .addStates(ObjectState.OBJECT_STATE_TRANSIENT).build(), 10, PageCursor.START);
        assertEquals(List.of("z"), finishedOnly.getObjectsList().stream().map(ContextObject::getId).toList());
    }

    private static Command.Publish batch(ClientSession session, int events) {
        List<io.weft.api.v1.ContextEvent> list = new ArrayList<>();
        for (int i = 0; i < events; i++) {
            list.add(born("b" + i, Map.of()));
        }
        return new Command.Publish(session, 0, list);
    }

    private static io.weft.api.v1.ContextEvent[] events(String prefix, int n) {
        io.weft.api.v1.ContextEvent[] out = new io.weft.api.v1.ContextEvent[n];
        for (int i = 0; i < n; i++) {
            out[i] = born(prefix + "-" + i, Map.of());
        }
        return out;
    }

    private static List<String> ids(List<WatchResponse> items) {
        List<String> out = new ArrayList<>();
        for (WatchResponse r : items) {
            out.add(r.hasMessage() ? r.getMessage().getId() : r.getObject().getId());
        }
        return out;
    }
}
