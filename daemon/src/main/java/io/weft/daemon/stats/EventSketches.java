package io.weft.daemon.stats;

import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.FrequentItem;
import io.weft.api.v1.KeySketch;
import io.weft.api.v1.SketchResponse;
import io.weft.daemon.view.TopicMatcher;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.datasketches.frequencies.ErrorType;
import org.apache.datasketches.frequencies.ItemsSketch;
import org.apache.datasketches.hll.HllSketch;

/**
 * Approximate statistics of the event stream (SuPPort's StreamSketch, DESIGN §7) with Apache
 * DataSketches: per routing key the count and the distinct object ids (HyperLogLog), the heavy
 * hitters among routing keys, and per configured field the count, the distinct values and the top
 * values with error bounds ({@link FieldValues}). Broker-owned: updates and reports run on one thread.
 *
 * <p>Heavy hitters: the first {@code maxKeys} keys are counted exactly one by one, so only events of
 * further keys go through a frequent-items sketch; a report merges the two, exact keys with lower
 * bound = estimate = upper bound. A key is listed when its count (its upper bound, for sketched
 * keys) exceeds the sketch's maximum error, as {@link ErrorType#NO_FALSE_NEGATIVES} lists items.
 *
 * <p>Memory is bounded whatever the stream: at most {@code maxKeys} keys of about 1.5 KiB each
 * ({@link KeyTable}), a heavy-hitter sketch of {@value #HEAVY_HITTERS_MAP} entries (at most about 1.3
 * MiB), and per field at most about 700 KiB ({@link FieldValues}): with the defaults (1,024 keys, 2
 * fields) about 4 MiB, at most about 160 MiB with 100,000 keys and 16 fields. 8-bit HLL registers
 * cost twice the memory of 4-bit ones and a third of their update time.
 *
 * <p>Distinct counts hash strings with {@link Hashing#hash64} before the HLL (which mixes the long
 * again): cheaper than the sketch's own string path, which encodes UTF-8 first.
 */
public final class EventSketches {

    /** Entries of the frequent-items sketch of the keys beyond {@code maxKeys}. */
    static final int HEAVY_HITTERS_MAP = 4096;
    private static final int HLL_STD_DEVS = 2;

    private final KeyTable keys;
    private final ItemsSketch<String> untrackedKeys = new ItemsSketch<>(HEAVY_HITTERS_MAP);
    private FieldValues[] fields;
    private long events;
    private long untrackedKeyEvents;

    /**
     * @param fields event fields whose values are sketched
     * @param maxKeys routing keys sketched one by one
     */
    public EventSketches(List<String> fields, int maxKeys) {
        this.keys = new KeyTable(maxKeys);
        this.fields = fields.stream().map(FieldValues::new).toArray(FieldValues[]::new);
    }

    /**
     * Sketches exactly {@code names} from now on (SIGHUP): fields still listed keep their sketches,
     * new ones start empty, the others are dropped.
     */
    public void setFields(List<String> names) {
        Map<String, FieldValues> old = new HashMap<>();
        for (FieldValues f : fields) {
            old.put(f.name, f);
        }
        fields = names.stream().map(n -> old.getOrDefault(n, new FieldValues(n))).toArray(FieldValues[]::new);
    }

    /** The fields sketched now. */
    public List<String> fieldNames() {
        return Arrays.stream(fields).map(f -> f.name).toList();
    }

    /** Sketches one applied event. */
    public void onEvent(ContextEvent e) {
        events++;
        String key = e.getRoutingKey();
        if (!keys.add(key, Hashing.hash64(e.getId()))) {
            untrackedKeyEvents++;
            untrackedKeys.update(key);
        }
        if (fields.length > 0 && e.hasFields()) {
            Map<String, Value> values = e.getFields().getFieldsMap();
            for (FieldValues f : fields) {
                Value v = values.get(f.name);
                if (v != null) {
                    f.add(v);
                }
            }
        }
    }

    /**
     * The report: keys matching {@code filter}, most events first (then by name); {@code top} heavy
     * hitters and values.
     */
    public SketchResponse report(TopicMatcher filter, int top) {
        SketchResponse.Builder out = SketchResponse.newBuilder()
                .setEvents(events)
                .setUntrackedKeyEvents(untrackedKeyEvents);
        List<Integer> sorted = new ArrayList<>();
        for (int slot = 0; slot < keys.slots(); slot++) {
            if (keys.name(slot) != null && filter.matches(keys.name(slot))) {
                sorted.add(slot);
            }
        }
        sorted.sort(Comparator.comparingLong((Integer slot) -> -keys.count(slot)).thenComparing(keys::name));
        for (int slot : sorted) {
            HllSketch h = keys.ids(slot);
            out.addKeys(KeySketch.newBuilder()
                    .setRoutingKey(keys.name(slot))
                    .setCount(keys.count(slot))
                    .setDistinctIds(h.getEstimate())
                    .setDistinctIdsLower(h.getLowerBound(HLL_STD_DEVS))
                    .setDistinctIdsUpper(h.getUpperBound(HLL_STD_DEVS)));
        }
        addHeavyHitters(out, sorted, filter, top);
        for (FieldValues f : fields) {
            out.addFields(f.report(top, HLL_STD_DEVS));
        }
        return out.build();
    }

    /** Merges the exact keys (slots of {@link #keys}, most first) with the sketched ones, most first. */
    private void addHeavyHitters(SketchResponse.Builder out, List<Integer> exact, TopicMatcher filter, int top) {
        long threshold = untrackedKeys.getMaximumError();
        ItemsSketch.Row<String>[] rows = untrackedKeys.getFrequentItems(ErrorType.NO_FALSE_NEGATIVES);
        int e = 0;
        int r = 0;
        int n = 0;
        while (n < top) {
            while (r < rows.length && !filter.matches(rows[r].getItem())) {
                r++;
            }
            long c = e < exact.size() ? keys.count(exact.get(e)) : 0;
            if (c > threshold && (r == rows.length || c >= rows[r].getEstimate())) {
                out.addHeavyHitters(FrequentItem.newBuilder()
                        .setItem(keys.name(exact.get(e))).setEstimate(c).setLowerBound(c).setUpperBound(c));
                e++;
            } else if (r < rows.length) {
                out.addHeavyHitters(item(rows[r]));
                r++;
            } else {
                break;
            }
            n++;
        }
    }

    static FrequentItem item(ItemsSketch.Row<String> row) {
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
