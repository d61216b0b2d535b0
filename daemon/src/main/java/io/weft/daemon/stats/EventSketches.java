package io.weft.daemon.stats;

import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.FieldSketch;
import io.weft.api.v1.FrequentItem;
import io.weft.api.v1.KeySketch;
import io.weft.api.v1.SketchResponse;
import io.weft.daemon.view.TopicMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.datasketches.frequencies.ErrorType;
import org.apache.datasketches.frequencies.ItemsSketch;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.TgtHllType;

/**
 * Approximate statistics of the event stream (SuPPort's StreamSketch, DESIGN §7) with Apache
 * DataSketches: per routing key the count and the distinct object ids (HyperLogLog), the heavy
 * hitters among routing keys (a frequent-items sketch), and per configured field the count, the
 * distinct values and the top values with error bounds. Broker-owned.
 *
 * <p>Memory is bounded whatever the stream: at most {@code maxKeys} keys of about 1.5 KiB each (an
 * HLL of lgK {@value #KEY_LG_K} in 8-bit registers, 1 KiB, plus the key of at most 255 bytes), a
 * heavy-hitter sketch of {@value #HEAVY_HITTERS_MAP} entries (at most about 1.3 MiB), and per field
 * an HLL of lgK {@value #FIELD_LG_K} (4 KiB) and a top-values sketch of {@value #TOP_VALUES_MAP}
 * entries of values cut to {@value #VALUE_CHARS} characters (at most about 450 KiB): with the
 * defaults (1,024 keys, 2 fields) about 3.5 MiB, at most about 160 MiB with 100,000 keys and 16
 * fields. 8-bit registers cost twice the memory of 4-bit ones and a third of their update time.
 *
 * <p>Distinct counts hash strings with 64-bit FNV-1a before the HLL (which mixes the long again):
 * cheaper than the sketch's own string path, which encodes UTF-8 first.
 */
public final class EventSketches {

    static final int KEY_LG_K = 10;
    static final int FIELD_LG_K = 12;
    /** Large enough that the default 1,024 keys fit without purges, which cost most. */
    static final int HEAVY_HITTERS_MAP = 4096;
    /** Top values per field; a larger map purges less often, which is what costs most per update. */
    static final int TOP_VALUES_MAP = 2048;
    /** Field values are sketched as text cut to this many characters. */
    static final int VALUE_CHARS = 64;
    private static final int HLL_STD_DEVS = 2;

    private final int maxKeys;
    private final HashMap<String, KeyStats> keys = new HashMap<>();
    private final ItemsSketch<String> heavyHitters = new ItemsSketch<>(HEAVY_HITTERS_MAP);
    private FieldStats[] fields;
    private long events;
    private long untrackedKeyEvents;

    /**
     * @param fields event fields whose values are sketched
     * @param maxKeys routing keys sketched one by one
     */
    public EventSketches(List<String> fields, int maxKeys) {
        this.maxKeys = maxKeys;
        this.fields = fields.stream().map(FieldStats::new).toArray(FieldStats[]::new);
    }

    /**
     * Sketches exactly {@code names} from now on (SIGHUP): fields still listed keep their sketches,
     * new ones start empty, the others are dropped.
     */
    public void setFields(List<String> names) {
        Map<String, FieldStats> old = new HashMap<>();
        for (FieldStats f : fields) {
            old.put(f.name, f);
        }
        fields = names.stream().map(n -> old.getOrDefault(n, new FieldStats(n))).toArray(FieldStats[]::new);
    }

    /** The fields sketched now. */
    public List<String> fieldNames() {
        return java.util.Arrays.stream(fields).map(f -> f.name).toList();
    }

    private static final class KeyStats {
        long count;
        final HllSketch ids = new HllSketch(KEY_LG_K, TgtHllType.HLL_8);
    }

    private static final class FieldStats {
        final String name;
        long count;
        final HllSketch distinct = new HllSketch(FIELD_LG_K, TgtHllType.HLL_8);
        final ItemsSketch<String> top = new ItemsSketch<>(TOP_VALUES_MAP);

        FieldStats(String name) {
            this.name = name;
        }
    }

    /** Sketches one applied event. */
    public void onEvent(ContextEvent e) {
        events++;
        String key = e.getRoutingKey();
        heavyHitters.update(key);
        KeyStats k = keys.get(key);
        if (k == null) {
            if (keys.size() >= maxKeys) {
                untrackedKeyEvents++;
                k = null;
            } else {
                k = new KeyStats();
                keys.put(key, k);
            }
        }
        if (k != null) {
            k.count++;
            k.ids.update(hash64(e.getId()));
        }
        if (fields.length > 0 && e.hasFields()) {
            for (FieldStats f : fields) {
                Value v = e.getFields().getFieldsOrDefault(f.name, null);
                if (v != null) {
                    String text = text(v);
                    f.count++;
                    f.distinct.update(hash64(text));
                    f.top.update(text);
                }
            }
        }
    }

    /** 64-bit FNV-1a over the string's UTF-16 code units. */
    static long hash64(String s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0, n = s.length(); i < n; i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** The field's value as sketched: its text (JSON for structs and lists), cut to {@value #VALUE_CHARS}. */
    static String text(Value v) {
        String s;
        switch (v.getKindCase()) {
            case STRING_VALUE:
                s = v.getStringValue();
                break;
            case NUMBER_VALUE: {
                double d = v.getNumberValue();
                s = d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
                break;
            }
            case BOOL_VALUE:
                s = Boolean.toString(v.getBoolValue());
                break;
            case NULL_VALUE:
                s = "null";
                break;
            default:
                s = v.toString().replace('\n', ' ');
                break;
        }
        return s.length() > VALUE_CHARS ? s.substring(0, VALUE_CHARS) : s;
    }

    /** The report: keys matching {@code filter}, most events first; {@code top} heavy hitters and values. */
    public SketchResponse report(TopicMatcher filter, int top) {
        SketchResponse.Builder out = SketchResponse.newBuilder()
                .setEvents(events)
                .setUntrackedKeyEvents(untrackedKeyEvents);
        List<java.util.Map.Entry<String, KeyStats>> sorted = new ArrayList<>(keys.entrySet());
        sorted.sort(Comparator.comparingLong((java.util.Map.Entry<String, KeyStats> en) -> en.getValue().count)
                .reversed());
        for (java.util.Map.Entry<String, KeyStats> en : sorted) {
            if (!filter.matches(en.getKey())) {
                continue;
            }
            HllSketch h = en.getValue().ids;
            out.addKeys(KeySketch.newBuilder()
                    .setRoutingKey(en.getKey())
                    .setCount(en.getValue().count)
                    .setDistinctIds(h.getEstimate())
                    .setDistinctIdsLower(h.getLowerBound(HLL_STD_DEVS))
                    .setDistinctIdsUpper(h.getUpperBound(HLL_STD_DEVS)));
        }
        int n = 0;
        for (ItemsSketch.Row<String> row : heavyHitters.getFrequentItems(ErrorType.NO_FALSE_NEGATIVES)) {
            if (n >= top) {
                break;
            }
            if (filter.matches(row.getItem())) {
                out.addHeavyHitters(item(row));
                n++;
            }
        }
        for (FieldStats f : fields) {
            FieldSketch.Builder fb = FieldSketch.newBuilder()
                    .setField(f.name)
                    .setCount(f.count)
                    .setDistinct(f.distinct.getEstimate())
                    .setDistinctLower(f.distinct.getLowerBound(HLL_STD_DEVS))
                    .setDistinctUpper(f.distinct.getUpperBound(HLL_STD_DEVS));
            ItemsSketch.Row<String>[] rows = f.top.getFrequentItems(ErrorType.NO_FALSE_NEGATIVES);
            for (int i = 0; i < rows.length && i < top; i++) {
                fb.addTop(item(rows[i]));
            }
            out.addFields(fb);
        }
        return out.build();
    }

    private static FrequentItem item(ItemsSketch.Row<String> row) {
        return FrequentItem.newBuilder()
                .setItem(row.getItem())
                .setEstimate(row.getEstimate())
                .setLowerBound(row.getLowerBound())
                .setUpperBound(row.getUpperBound())
                .build();
    }

    /** Routing keys sketched one by one now. */
    public int keyCount() {
        return keys.size();
    }

    /** Events sketched so far. */
    public long events() {
        return events;
    }
}
