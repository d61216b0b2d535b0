package io.weft.daemon.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.FieldSketch;
import io.weft.api.v1.FrequentItem;
import io.weft.api.v1.KeySketch;
import io.weft.api.v1.SketchResponse;
import io.weft.daemon.view.TopicMatcher;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventSketchesTest {

    private static ContextEvent event(String key, String id, String clientIp) {
        ContextEvent.Builder b = ContextEvent.newBuilder().setRoutingKey(key).setId(id);
        if (clientIp != null) {
            b.setFields(Struct.newBuilder().putFields("client_ip", Value.newBuilder().setStringValue(clientIp).build()));
        }
        return b.build();
    }

    private static void assertWithin(double truth, double lower, double estimate, double upper, String what) {
        assertTrue(lower <= truth && truth <= upper, what + ": " + truth + " outside [" + lower + ", " + upper + "]");
        assertTrue(Math.abs(estimate - truth) <= truth * 0.05, what + ": estimate " + estimate + " vs " + truth);
    }

    @Test
    void shouldCountKeysIdsAndFieldValuesWithinTheirBoundsWhenSketching() {
        EventSketches s = new EventSketches(List.of("client_ip", "url"), 1024);
        for (int i = 0; i < 20_000; i++) {
            s.onEvent(event("shop.checkout", "order-" + (i % 5000), i % 2 == 0 ? "10.0.0.1" : "10.0.1." + (i % 200)));
        }
        for (int i = 0; i < 3000; i++) {
            s.onEvent(event("shop.cart", "cart-" + (i % 10), null));
        }
        SketchResponse r = s.report(TopicMatcher.compile(List.of()), 5);
        assertEquals(23_000, r.getEvents());
        KeySketch checkout = r.getKeys(0);
        assertEquals("shop.checkout", checkout.getRoutingKey());
        assertEquals(20_000, checkout.getCount());
        assertWithin(5000, checkout.getDistinctIdsLower(), checkout.getDistinctIds(), checkout.getDistinctIdsUpper(), "ids");
        KeySketch cart = r.getKeys(1);
        assertEquals(3000, cart.getCount());
        assertEquals(10.0, cart.getDistinctIds(), 0.5);

        FrequentItem hh = r.getHeavyHitters(0);
        assertEquals("shop.checkout", hh.getItem());
        assertTrue(hh.getLowerBound() <= 20_000 && 20_000 <= hh.getUpperBound());

        FieldSketch ip = r.getFields(0);
        assertEquals("client_ip", ip.getField());
        assertEquals(20_000, ip.getCount());
        assertWithin(101, ip.getDistinctLower(), ip.getDistinct(), ip.getDistinctUpper(), "client ips");
        assertEquals("10.0.0.1", ip.getTop(0).getItem());
        assertTrue(ip.getTop(0).getLowerBound() <= 10_000 && 10_000 <= ip.getTop(0).getUpperBound());
        assertTrue(ip.getTopCount() <= 5);
        assertEquals("url", r.getFields(1).getField());
        assertEquals(0, r.getFields(1).getCount());
    }

    @Test
    void shouldKeepListedFieldsAndStartNewOnesEmptyWhenTheFieldsChange() {
        EventSketches s = new EventSketches(List.of("client_ip", "url"), 16);
        s.onEvent(event("a", "1", "10.0.0.1"));
        s.setFields(List.of("user", "client_ip"));
        s.onEvent(event("a", "2", "10.0.0.2"));
        assertEquals(List.of("user", "client_ip"), s.fieldNames());
        SketchResponse r = s.report(TopicMatcher.compile(List.of()), 5);
        assertEquals(2, r.getFieldsCount());
        assertEquals("user", r.getFields(0).getField());
        assertEquals(0, r.getFields(0).getCount());
        assertEquals("client_ip", r.getFields(1).getField());
        assertEquals(2, r.getFields(1).getCount(), "client_ip kept what it had counted");
    }

    @Test
    void shouldOnlyCountKeysBeyondTheBoundWhenThereAreTooMany() {
        EventSketches s = new EventSketches(List.of(), 2);
        s.onEvent(event("a", "1", null));
        s.onEvent(event("b", "1", null));
        s.onEvent(event("c", "1", null));
        s.onEvent(event("c", "2", null));
        SketchResponse r = s.report(TopicMatcher.compile(List.of()), 20);
        assertEquals(2, r.getKeysCount());
        assertEquals(2, r.getUntrackedKeyEvents());
        assertEquals(4, r.getEvents());
        assertEquals("c", r.getHeavyHitters(0).getItem(), "heavy hitters see every key");
    }

    @Test
    void shouldReportOnlyMatchingKeysWhenFiltered() {
        EventSketches s = new EventSketches(List.of(), 10);
        s.onEvent(event("shop.a", "1", null));
        s.onEvent(event("blog.b", "1", null));
        SketchResponse r = s.report(TopicMatcher.compile(List.of("shop.*")), 20);
        assertEquals(List.of("shop.a"), r.getKeysList().stream().map(KeySketch::getRoutingKey).toList());
        assertEquals(List.of("shop.a"), r.getHeavyHittersList().stream().map(FrequentItem::getItem).toList());
    }

    @Test
    void shouldSketchValuesAsShortTextWhenTheyAreLongOrNotStrings() {
        assertEquals("x".repeat(64), EventSketches.text(Value.newBuilder().setStringValue("x".repeat(100)).build()));
        assertEquals("200", EventSketches.text(Value.newBuilder().setNumberValue(200).build()));
        assertEquals("1.5", EventSketches.text(Value.newBuilder().setNumberValue(1.5).build()));
        assertEquals("true", EventSketches.text(Value.newBuilder().setBoolValue(true).build()));
    }
}
