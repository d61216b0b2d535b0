package io.weft.daemon.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.RecentKey;
import io.weft.api.v1.RecentResponse;
import io.weft.daemon.view.TopicMatcher;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RecentEventsTest {

    private static final TopicMatcher ALL = TopicMatcher.compile(List.of());

    private static ContextEvent event(String key, long seq) {
        return ContextEvent.newBuilder().setRoutingKey(key).setId("id").setSeq(seq).build();
    }

    @Test
    void shouldKeepTheLastEventsOfEachKeyOldestFirstWhenFull() {
        RecentEvents r = new RecentEvents(4, 3, 512);
        for (int i = 1; i <= 5; i++) {
            r.onEvent(event("a", i));
        }
        r.onEvent(event("b", 1));
        RecentResponse resp = r.report(ALL, 3);
        RecentKey a = resp.getKeys(0);
        assertEquals("a", a.getRoutingKey());
        assertEquals(5, a.getCount());
        assertEquals(List.of(3L, 4L, 5L), a.getEventsList().stream().map(ContextEvent::getSeq).toList());
        assertEquals(List.of(5L), r.report(ALL, 1).getKeys(0).getEventsList().stream().map(ContextEvent::getSeq).toList());
        assertEquals("b", resp.getKeys(1).getRoutingKey());
        assertEquals(List.of("b"), r.report(TopicMatcher.compile(List.of("b")), 3).getKeysList().stream()
                .map(RecentKey::getRoutingKey).toList());
    }

    @Test
    void shouldKeepTheBusiestKeysWhenOneOffKeysChurn() {
        RecentEvents r = new RecentEvents(16, 10, 512);
        for (int round = 0; round < 10_000; round++) {
            r.onEvent(event("busy." + (round % 5), round));
            r.onEvent(event("once." + round, 0));
        }
        assertEquals(16, r.keyCount());
        Set<String> top5 = r.report(ALL, 1).getKeysList().stream().limit(5).map(RecentKey::getRoutingKey)
                .collect(Collectors.toSet());
        assertEquals(Set.of("busy.0", "busy.1", "busy.2", "busy.3", "busy.4"), top5);
        assertTrue(r.evictions() > 9000);
    }

    @Test
    void shouldSummariseAnEventToABoundedSizeWhenItIsLarge() {
        RecentEvents r = new RecentEvents(4, 3, 512);
        Struct.Builder fields = Struct.newBuilder();
        for (int i = 0; i < 100; i++) {
            fields.putFields("f" + i, Value.newBuilder().setStringValue("v".repeat(1000)).build());
        }
        fields.putFields("nested", Value.newBuilder().setListValue(ListValue.newBuilder()
                .addValues(Value.newBuilder().setNumberValue(1))).build());
        ContextEvent big = ContextEvent.newBuilder().setRoutingKey("k").setId("big").setSeq(7).setFields(fields)
                .setMessage("m".repeat(500)).build();
        r.onEvent(big);
        ContextEvent cached = r.report(ALL, 1).getKeys(0).getEvents(0);
        assertEquals(1, r.summarised());
        assertEquals(7, cached.getSeq());
        assertEquals("big", cached.getId());
        assertEquals(RecentEvents.SUMMARY_FIELDS + 1, cached.getFields().getFieldsCount());
        assertTrue(cached.getSerializedSize() < 2500, "summary is " + cached.getSerializedSize() + " bytes");
        assertEquals(65, cached.getMessage().length());
        assertTrue(cached.getFields().getFieldsOrThrow("…").getStringValue().startsWith("summarised from "));
        ContextEvent small = event("k", 8);
        r.onEvent(small);
        assertEquals(small, r.report(ALL, 1).getKeys(0).getEvents(0), "small events are kept as they came");
    }
}
