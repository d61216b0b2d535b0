package io.weft.daemon.stats;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.RecentKey;
import io.weft.api.v1.RecentResponse;
import io.weft.daemon.view.TopicMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The last raw events of the busiest routing keys (SuPPort's recent cache, DESIGN §7). Broker-owned.
 *
 * <p>Which keys: at most {@code maxKeys}, chosen by Space-Saving: a new key, when the cache is full,
 * takes the place of the least busy of {@value #EVICTION_SAMPLE} sampled keys and inherits its count
 * plus one, so keys that stay busy stay in and a stream of one-off keys only churns the quiet end.
 *
 * <p>Bounded: {@code maxKeys × eventsPerKey} events, each stored as it came when its encoding is at
 * most {@code eventBytes}, else summarised ({@link #summarise}) to about that size: with the defaults
 * (512 keys × 100 events × 512 bytes plus about 100 bytes of overhead each) about 30 MiB at worst.
 */
public final class RecentEvents {

    /** Keys compared to pick the one a new key replaces. */
    static final int EVICTION_SAMPLE = 8;
    /** Strings of a summarised event are cut to this many characters. */
    static final int SUMMARY_CHARS = 64;
    /** Fields (and headers) a summarised event keeps. */
    static final int SUMMARY_FIELDS = 16;

    private final int maxKeys;
    private final int eventsPerKey;
    private final int eventBytes;
    private final HashMap<String, Ring> rings = new HashMap<>();
    private final ArrayList<Ring> slots = new ArrayList<>();
    private final SplittableRandom random = new SplittableRandom(1);
    private long summarised;
    private long evictions;

    public RecentEvents(int maxKeys, int eventsPerKey, int eventBytes) {
        this.maxKeys = maxKeys;
        this.eventsPerKey = eventsPerKey;
        this.eventBytes = eventBytes;
    }

    private final class Ring {
        String key;
        long count;
        final ContextEvent[] events = new ContextEvent[eventsPerKey];
        int next;
        int size;

        void add(ContextEvent e) {
            events[next] = e;
            next = (next + 1) % events.length;
            if (size < events.length) {
                size++;
            }
        }

        void reset(String newKey, long newCount) {
            key = newKey;
            count = newCount;
            java.util.Arrays.fill(events, null);
            next = 0;
            size = 0;
        }
    }

    /** Caches one applied event. */
    public void onEvent(ContextEvent e) {
        String key = e.getRoutingKey();
        Ring r = rings.get(key);
        if (r == null) {
            if (slots.size() < maxKeys) {
                r = new Ring();
                r.reset(key, 0);
                slots.add(r);
            } else {
                r = leastBusySample();
                rings.remove(r.key);
                r.reset(key, r.count);
                evictions++;
            }
            rings.put(key, r);
        }
        r.count++;
        r.add(e.getSerializedSize() <= eventBytes ? e : summarise(e));
    }

    private Ring leastBusySample() {
        Ring min = null;
        for (int i = 0; i < EVICTION_SAMPLE; i++) {
            Ring c = slots.get(random.nextInt(slots.size()));
            if (min == null || c.count < min.count) {
                min = c;
            }
        }
        return min;
    }

    /**
     * A bounded copy of a large event: identity, kind, seq and time as they are; at most {@value
     * #SUMMARY_FIELDS} fields and headers; strings cut to {@value #SUMMARY_CHARS} characters; nested
     * values replaced by a note of their size; a field {@code "…"} saying how large the event was.
     */
    ContextEvent summarise(ContextEvent e) {
        summarised++;
        ContextEvent.Builder b = ContextEvent.newBuilder()
                .setId(cut(e.getId()))
                .setRoutingKey(e.getRoutingKey())
                .setKind(e.getKind())
                .setSeq(e.getSeq())
                .setTimeUnixNanos(e.getTimeUnixNanos())
                .setLevel(e.getLevel())
                .setMessage(cut(e.getMessage()));
        int n = 0;
        for (Map.Entry<String, String> h : e.getHeadersMap().entrySet()) {
            if (n++ >= SUMMARY_FIELDS) {
                break;
            }
            b.putHeaders(cut(h.getKey()), cut(h.getValue()));
        }
        for (int i = 0; i < e.getDeletedCount() && i < SUMMARY_FIELDS; i++) {
            b.addDeleted(cut(e.getDeleted(i)));
        }
        Struct.Builder fields = Struct.newBuilder();
        n = 0;
        for (Map.Entry<String, Value> f : e.getFields().getFieldsMap().entrySet()) {
            if (n++ >= SUMMARY_FIELDS) {
                break;
            }
            fields.putFields(cut(f.getKey()), summary(f.getValue()));
        }
        fields.putFields("…", Value.newBuilder().setStringValue("summarised from " + e.getSerializedSize() + " bytes, "
                + e.getFields().getFieldsCount() + " fields").build());
        return b.setFields(fields).build();
    }

    private static Value summary(Value v) {
        switch (v.getKindCase()) {
            case STRING_VALUE:
                return v.getStringValue().length() <= SUMMARY_CHARS ? v
                        : Value.newBuilder().setStringValue(cut(v.getStringValue())).build();
            case STRUCT_VALUE:
                return Value.newBuilder().setStringValue("{… " + v.getStructValue().getFieldsCount() + " fields}").build();
            case LIST_VALUE:
                return Value.newBuilder().setStringValue("[… " + v.getListValue().getValuesCount() + " items]").build();
            default:
                return v;
        }
    }

    private static String cut(String s) {
        return s.length() <= SUMMARY_CHARS ? s : s.substring(0, SUMMARY_CHARS) + "…";
    }

    /**
     * The cached keys matching {@code filter}, busiest first, each with its last {@code limit}
     * events (oldest first).
     */
    public RecentResponse report(TopicMatcher filter, int limit) {
        List<Ring> sorted = new ArrayList<>(slots);
        sorted.sort(Comparator.comparingLong((Ring r) -> r.count).reversed());
        RecentResponse.Builder out = RecentResponse.newBuilder();
        for (Ring r : sorted) {
            if (r.size == 0 || !filter.matches(r.key)) {
                continue;
            }
            RecentKey.Builder k = RecentKey.newBuilder().setRoutingKey(r.key).setCount(r.count);
            int take = Math.min(limit, r.size);
            for (int i = r.size - take; i < r.size; i++) {
                int idx = (r.next - r.size + i + r.events.length) % r.events.length;
                k.addEvents(r.events[idx]);
            }
            out.addKeys(k);
        }
        return out.build();
    }

    /** The most events kept per key. */
    public int eventsPerKey() {
        return eventsPerKey;
    }

    /** Keys cached now. */
    public int keyCount() {
        return rings.size();
    }

    /** Events summarised so far because they were larger than the bound. */
    public long summarised() {
        return summarised;
    }

    /** Keys that replaced a less busy key so far. */
    public long evictions() {
        return evictions;
    }
}
