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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
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
        assertEquals(List.of("c", "a", "b"), r.getHeavyHittersList().stream().map(FrequentItem::getItem).toList(),
                "heavy hitters see every key");
    }

    @Test
    void shouldReportExactHeavyHittersMostFirstWhenAllKeysAreTracked() {
        EventSketches s = new EventSketches(List.of(), 1024);
        for (int k = 0; k < 500; k++) {
            for (int i = 0; i <= k; i++) {
                s.onEvent(event("app.key" + k, "id", null));
            }
        }
        SketchResponse r = s.report(TopicMatcher.compile(List.of()), 10);
        assertEquals(10, r.getHeavyHittersCount());
        for (int n = 0; n < 10; n++) {
            FrequentItem hh = r.getHeavyHitters(n);
            assertEquals("app.key" + (499 - n), hh.getItem());
            assertEquals(500 - n, hh.getEstimate());
            assertEquals(500 - n, hh.getLowerBound());
            assertEquals(500 - n, hh.getUpperBound());
        }
        assertEquals(List.of("app.key3", "app.key2"), s.report(TopicMatcher.compile(List.of("app.key2", "app.key3")), 10)
                .getHeavyHittersList().stream().map(FrequentItem::getItem).toList());
    }

    @Test
    void shouldCountEveryKeyExactlyWhenTheKeyTableGrows() {
        EventSketches s = new EventSketches(List.of(), 5000);
        for (int round = 0; round < 3; round++) {
            for (int k = 0; k < 6000; k++) {
                // New String instances, as the protobuf parser hands keys over.
                s.onEvent(event(new String("svc." + k), "id-" + round, null));
            }
        }
        SketchResponse r = s.report(TopicMatcher.compile(List.of()), 1);
        assertEquals(5000, s.keyCount());
        assertEquals(5000, r.getKeysCount());
        assertEquals(3 * 1000, r.getUntrackedKeyEvents());
        for (KeySketch k : r.getKeysList()) {
            assertTrue(Integer.parseInt(k.getRoutingKey().substring(4)) < 5000, "the first keys are kept: " + k.getRoutingKey());
            assertEquals(3, k.getCount());
            assertEquals(3.0, k.getDistinctIds(), 0.01);
        }
    }

    @Test
    void shouldMergeExactAndSketchedHeavyHittersWithinTheirBoundsWhenKeysExceedTheBound() {
        int maxKeys = 100;
        EventSketches s = new EventSketches(List.of(), maxKeys);
        Map<String, Long> truth = new HashMap<>();
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            // Keys 0-99 come first and are tracked; later, a skewed mix of 20,000 keys, so the
            // sketch of untracked keys (4,096 entries) must purge.
            String key;
            if (i < maxKeys) {
                key = "k" + i;
            } else if (i % 4 == 0) {
                key = "hot" + (i % 12);
            } else if (i % 4 == 1) {
                key = "k" + random.nextInt(maxKeys);
            } else {
                key = "cold" + random.nextInt(20_000);
            }
            truth.merge(key, 1L, Long::sum);
            s.onEvent(event(key, "id", null));
        }
        SketchResponse r = s.report(TopicMatcher.compile(List.of()), 30);
        assertEquals(maxKeys, r.getKeysCount());
        long tracked = truth.entrySet().stream().filter(e -> e.getKey().startsWith("k")).mapToLong(Map.Entry::getValue).sum();
        assertEquals(200_000 - tracked, r.getUntrackedKeyEvents());

        assertEquals(30, r.getHeavyHittersCount());
        List<String> items = r.getHeavyHittersList().stream().map(FrequentItem::getItem).toList();
        for (int h = 0; h < 3; h++) {
            assertTrue(items.subList(0, 3).contains("hot" + (h * 4)), "the three hot keys come first: " + items);
        }
        double previous = Double.MAX_VALUE;
        for (FrequentItem hh : r.getHeavyHittersList()) {
            long count = truth.get(hh.getItem());
            assertTrue(hh.getLowerBound() <= count && count <= hh.getUpperBound(),
                    hh.getItem() + ": " + count + " outside [" + hh.getLowerBound() + ", " + hh.getUpperBound() + "]");
            assertTrue(hh.getEstimate() <= previous, "most first: " + items);
            previous = hh.getEstimate();
            if (hh.getItem().startsWith("k")) {
                assertEquals(count, hh.getLowerBound(), "a tracked key is exact");
                assertEquals(count, hh.getUpperBound(), "a tracked key is exact");
            } else {
                assertTrue(hh.getItem().startsWith("hot"), "no cold key is a heavy hitter: " + hh.getItem());
            }
        }
        assertTrue(items.stream().anyMatch(i -> i.startsWith("k")), "tracked keys are among the heavy hitters");
        assertEquals(List.of("hot0", "k5"), s.report(TopicMatcher.compile(List.of("hot0", "k5")), 30)
                .getHeavyHittersList().stream().map(FrequentItem::getItem).toList());
    }

    @Test
    void shouldCountTopValuesWithinTheirBoundsWhenThePendingTableIsFlushedManyTimes() {
        EventSketches s = new EventSketches(List.of("client_ip"), 16);
        Map<String, Long> truth = new HashMap<>();
        SplittableRandom random = new SplittableRandom(11);
        int events = 300_000;
        for (int i = 0; i < events; i++) {
            // 5 busy addresses among 50,000: far more distinct values than the pending table
            // (1,024) and the top-values sketch (2,048) hold.
            String ip = i % 3 == 0 ? "10.1.0." + (i % 5) : "10.2." + random.nextInt(200) + "." + random.nextInt(250);
            truth.merge(ip, 1L, Long::sum);
            s.onEvent(event("a", "id", ip));
        }
        FieldSketch ip = s.report(TopicMatcher.compile(List.of()), 5).getFields(0);
        assertEquals(events, ip.getCount());
        assertWithin(truth.size(), ip.getDistinctLower(), ip.getDistinct(), ip.getDistinctUpper(), "distinct ips");
        assertEquals(5, ip.getTopCount());
        for (FrequentItem top : ip.getTopList()) {
            assertTrue(top.getItem().startsWith("10.1.0."), "the busy addresses are the top values: " + top.getItem());
            long count = truth.get(top.getItem());
            assertTrue(top.getLowerBound() <= count && count <= top.getUpperBound(),
                    top.getItem() + ": " + count + " outside [" + top.getLowerBound() + ", " + top.getUpperBound() + "]");
            assertTrue(Math.abs(top.getEstimate() - count) <= top.getUpperBound() - top.getLowerBound());
        }
    }

    @Test
    void shouldSeeValuesStillPendingWhenReportingAndCountThemOnceWhenReportedAgain() {
        EventSketches s = new EventSketches(List.of("client_ip"), 16);
        for (int i = 0; i < 30; i++) {
            s.onEvent(event("a", "id", i < 20 ? "10.0.0.1" : "10.0.0.2"));
        }
        FieldSketch first = s.report(TopicMatcher.compile(List.of()), 5).getFields(0);
        assertEquals(List.of("10.0.0.1", "10.0.0.2"), first.getTopList().stream().map(FrequentItem::getItem).toList());
        assertEquals(20, first.getTop(0).getEstimate());
        assertEquals(10, first.getTop(1).getEstimate());
        s.onEvent(event("a", "id", "10.0.0.2"));
        FieldSketch second = s.report(TopicMatcher.compile(List.of()), 5).getFields(0);
        assertEquals(20, second.getTop(0).getEstimate(), "flushed counts are not added twice");
        assertEquals(11, second.getTop(1).getEstimate());
        assertEquals(2.0, second.getDistinct(), 0.01, "a value seen again after a flush is still one value");
        assertEquals(31, second.getCount());
    }

    @Test
    void shouldKeepPendingCountsOfAKeptFieldWhenTheFieldsChange() {
        EventSketches s = new EventSketches(List.of("client_ip", "url"), 16);
        for (int i = 0; i < 5; i++) {
            s.onEvent(event("a", "id", "10.0.0.9"));
        }
        s.setFields(List.of("client_ip"));
        s.onEvent(event("a", "id", "10.0.0.9"));
        FieldSketch ip = s.report(TopicMatcher.compile(List.of()), 5).getFields(0);
        assertEquals(6, ip.getTop(0).getEstimate());
        assertEquals(List.of("client_ip"), s.fieldNames());
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
        assertEquals("x".repeat(64), FieldValues.text(Value.newBuilder().setStringValue("x".repeat(100)).build()));
        assertEquals("200", FieldValues.text(Value.newBuilder().setNumberValue(200).build()));
        assertEquals("1.5", FieldValues.text(Value.newBuilder().setNumberValue(1.5).build()));
        assertEquals("true", FieldValues.text(Value.newBuilder().setBoolValue(true).build()));
    }

    @Test
    void shouldCountLongValuesByTheirFirst64CharactersWhenSketching() {
        EventSketches s = new EventSketches(List.of("client_ip"), 16);
        s.onEvent(event("a", "1", "y".repeat(64) + "-first"));
        s.onEvent(event("a", "2", "y".repeat(64) + "-second"));
        s.onEvent(event("a", "3", "y".repeat(63)));
        FieldSketch f = s.report(TopicMatcher.compile(List.of()), 5).getFields(0);
        assertEquals("y".repeat(64), f.getTop(0).getItem());
        assertEquals(2, f.getTop(0).getEstimate());
        assertEquals(2.0, f.getDistinct(), 0.01);
    }
}
