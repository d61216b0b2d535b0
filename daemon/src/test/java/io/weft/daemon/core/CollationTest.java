package io.weft.daemon.core;

import static io.weft.daemon.core.Events.born;
import static io.weft.daemon.core.Events.event;
import static io.weft.daemon.core.Events.finished;
import static io.weft.daemon.core.Events.struct;
import static io.weft.daemon.core.Events.update;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.api.v1.ContextObject;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.LogLevel;
import io.weft.api.v1.ObjectState;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CollationTest {

    private final BrokerHarness h = new BrokerHarness();

    @Test
    void shouldCollateWholeLifetimeWhenBornUpdatedLoggedDeletedAndFinished() {
        h.publish(
                born("o1", Map.of("url", "http://a")),
                update("o1", 2, Map.of("status", 200, "size", 10)),
                event("o1", EventKind.EVENT_KIND_LOG, 3).setMessage("size is 10").setLevel(LogLevel.LOG_LEVEL_INFO)
                        .setFields(struct(Map.of("n", 1))).build(),
                event("o1", EventKind.EVENT_KIND_DELETE, 4).addDeleted("size").build(),
                finished("o1", 7));
        h.run();

        ContextObject o = h.get("o1").orElseThrow();
        assertEquals(ObjectState.OBJECT_STATE_FINISHED, o.getState());
        assertEquals(Map.of("url", "http://a", "status", 200.0, "n", 1.0), plain(o));
        assertFalse(o.getPartial());
        assertEquals("size is 10", o.getLastMessage());
        assertEquals(1_000_000_000L, o.getStartUnixNanos());
        assertEquals(7_000_000_000L, o.getEndUnixNanos());
        assertEquals(6.0, o.getElapsedSeconds(), 1e-9);
        assertEquals(7, o.getLastSeq());
        assertEquals(5, o.getEventCount());
        assertEquals("d1", o.getDaemonId());
    }

    @Test
    void shouldShowLiveSnapshotWhenObjectNotFinished() {
        h.publish(born("db", Map.of("status", "now this")), update("db", 2, Map.of("status", "and now that")));
        h.run();

        ContextObject o = h.get("db").orElseThrow();
        assertEquals(ObjectState.OBJECT_STATE_LIVE, o.getState());
        assertEquals("and now that", o.getFields().getFieldsOrThrow("status").getStringValue());
        assertEquals(0, o.getEndUnixNanos());
    }

    @Test
    void shouldDropDuplicateWhenSeqIsNotAboveLast() {
        h.publish(born("o1", Map.of("a", 1)), update("o1", 2, Map.of("a", 2)), update("o1", 2, Map.of("a", 99)),
                update("o1", 1, Map.of("a", 98)));
        h.run();

        assertEquals(2.0, h.get("o1").orElseThrow().getFields().getFieldsOrThrow("a").getNumberValue());
        assertEquals(2, h.counter("events_duplicate"));
    }

    @Test
    void shouldAssignNextSeqWhenEventIsUnsequenced() {
        h.publish(born("o1", Map.of()), update("o1", 0, Map.of("a", 1)), update("o1", 0, Map.of("a", 2)));
        h.run();

        ContextObject o = h.get("o1").orElseThrow();
        assertEquals(3, o.getLastSeq());
        assertEquals(2.0, o.getFields().getFieldsOrThrow("a").getNumberValue());
    }

    @Test
    void shouldStartPartialObjectWhenBirthWasMissed() {
        h.publish(update("o1", 5, Map.of("a", 1)));
        h.run();

        ContextObject o = h.get("o1").orElseThrow();
        assertTrue(o.getPartial());
        assertEquals(ObjectState.OBJECT_STATE_LIVE, o.getState());
        assertEquals(1, h.counter("objects_partial"));
    }

    @Test
    void shouldFillOnlyMissingFieldsWhenLateBirthArrives() {
        h.publish(update("o1", 2, Map.of("a", "new")), born("o1", Map.of("a", "old", "b", "from birth")));
        h.run();

        ContextObject o = h.get("o1").orElseThrow();
        assertFalse(o.getPartial());
        assertEquals(Map.of("a", "new", "b", "from birth"), plain(o));
        assertEquals(1_000_000_000L, o.getStartUnixNanos());
    }

    @Test
    void shouldCollateTransientAtOnceWhenPublished() {
        h.publish(event("t1", EventKind.EVENT_KIND_TRANSIENT, 1).setFields(struct(Map.of("foo", "x"))).build());
        h.run();

        ContextObject o = h.get("t1").orElseThrow();
        assertEquals(ObjectState.OBJECT_STATE_TRANSIENT, o.getState());
        assertEquals(Map.of("foo", "x"), plain(o));
    }

    @Test
    void shouldIgnoreReplayWhenFinishedObjectIsResentAfterReconnect() {
        h.publish(born("o1", Map.of("a", 1)), update("o1", 2, Map.of("a", 2)), finished("o1", 3));
        h.publish(born("o1", Map.of("a", 1)), update("o1", 2, Map.of("a", 2)), finished("o1", 3));
        h.run();

        assertEquals(3, h.counter("events_duplicate"));
        assertEquals(0, h.broker.status().liveObjects());
        assertEquals(3, h.sink.accepted.size());
    }

    @Test
    void shouldStartNewObjectWhenCustomIdIsReusedLater() {
        h.publish(event("g", EventKind.EVENT_KIND_TRANSIENT, 1).setFields(struct(Map.of("n", 1))).build());
        h.publish(event("g", EventKind.EVENT_KIND_TRANSIENT, 1).setTimeUnixNanos(5_000_000_000L)
                .setFields(struct(Map.of("n", 2))).build());
        h.run();

        assertEquals(2.0, h.get("g").orElseThrow().getFields().getFieldsOrThrow("n").getNumberValue());
        assertEquals(0, h.counter("events_duplicate"));
    }

    @Test
    void shouldExpireIdleObjectWhenTtlPasses() {
        BrokerHarness t = new BrokerHarness(BrokerHarness.settings(100, 10, 1000, 60), 1000);
        Watcher w = t.watch(io.weft.api.v1.WatchMode.WATCH_MODE_OBJECTS, false, 16);
        t.publish(born("idle", Map.of()), born("busy", Map.of()));
        t.run();
        t.clock.advanceNs(50_000_000_000L);
        t.publish(update("busy", 2, Map.of("x", 1)));
        t.run();
        t.clock.advanceNs(11_000_000_000L);
        t.run();

        assertEquals(ObjectState.OBJECT_STATE_EXPIRED, t.get("idle").orElseThrow().getState());
        assertEquals(ObjectState.OBJECT_STATE_LIVE, t.get("busy").orElseThrow().getState());
        assertEquals(1, t.counter("objects_expired_ttl"));
        assertEquals("idle", BrokerHarness.drain(w).get(0).getObject().getId());
    }

    @Test
    void shouldExpireLeastRecentlyUpdatedWhenLiveCapIsReached() {
        BrokerHarness t = new BrokerHarness(BrokerHarness.settings(2, 10, 1000, 3600), 1000);
        t.publish(born("a", Map.of()), born("b", Map.of()), update("a", 2, Map.of("x", 1)), born("c", Map.of()));
        t.run();

        assertEquals(ObjectState.OBJECT_STATE_EXPIRED, t.get("b").orElseThrow().getState());
        assertEquals(ObjectState.OBJECT_STATE_LIVE, t.get("a").orElseThrow().getState());
        assertEquals(ObjectState.OBJECT_STATE_LIVE, t.get("c").orElseThrow().getState());
        assertEquals(1, t.counter("objects_expired_cap"));
        assertEquals(2, t.broker.status().liveObjects());
    }

    @Test
    void shouldExpireLeastRecentlyUpdatedWhenLiveBytesPassTheBound() {
        long perObject = LiveObject.OBJECT_OVERHEAD_BYTES + FieldMap.FIELD_OVERHEAD_BYTES
                + Events.value("x".repeat(1_000)).getSerializedSize();
        BrokerHarness t = new BrokerHarness(
                BrokerHarness.settings(100, 2 * perObject + 10, 10, Long.MAX_VALUE, 1000, 3600), 1000);
        String kb = "x".repeat(1_000);
        t.publish(born("a", Map.of("blob", kb)), born("b", Map.of("blob", kb)), update("a", 2, Map.of("blob", kb)),
                born("c", Map.of("blob", kb)));
        t.run();

        assertEquals(ObjectState.OBJECT_STATE_EXPIRED, t.get("b").orElseThrow().getState());
        assertEquals(ObjectState.OBJECT_STATE_LIVE, t.get("a").orElseThrow().getState());
        assertEquals(ObjectState.OBJECT_STATE_LIVE, t.get("c").orElseThrow().getState());
        assertEquals(1, t.counter("objects_expired_bytes"));
        assertEquals(2 * perObject, t.broker.status().counters().get("collator_live_bytes"));
    }

    @Test
    void shouldEvictOldestFinishedWhenRingBytesPassTheBound() {
        long perObject = LiveObject.OBJECT_OVERHEAD_BYTES + FieldMap.FIELD_OVERHEAD_BYTES
                + Events.value("x".repeat(1_000)).getSerializedSize();
        BrokerHarness t = new BrokerHarness(
                BrokerHarness.settings(100, Long.MAX_VALUE, 100, 3 * perObject, 1000, 3600), 1000);
        for (int i = 0; i < 5; i++) {
            t.publish(event("t" + i, EventKind.EVENT_KIND_TRANSIENT, 1)
                    .setFields(struct(Map.of("blob", "x".repeat(1_000)))).build());
        }
        t.run();

        assertTrue(t.get("t1").isEmpty());
        assertTrue(t.get("t2").isPresent());
        assertEquals(2, t.counter("finished_evicted"));
        assertEquals(3 * perObject, t.broker.status().counters().get("collator_finished_bytes"));
    }

    @Test
    void shouldEvictOldestFinishedWhenRingIsFull() {
        BrokerHarness t = new BrokerHarness(BrokerHarness.settings(100, 3, 1000, 3600), 1000);
        for (int i = 0; i < 5; i++) {
            t.publish(event("t" + i, EventKind.EVENT_KIND_TRANSIENT, 1).build());
        }
        t.run();

        assertTrue(t.get("t0").isEmpty());
        assertTrue(t.get("t1").isEmpty());
        assertTrue(t.get("t4").isPresent());
        assertEquals(2, t.counter("finished_evicted"));
    }

    private static Map<String, Object> plain(ContextObject o) {
        java.util.Map<String, Object> m = new java.util.HashMap<>();
        o.getFields().getFieldsMap().forEach((k, v) -> m.put(k,
                v.hasNumberValue() ? (Object) v.getNumberValue() : v.getStringValue()));
        return m;
    }
}
