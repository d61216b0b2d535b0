package io.weft.daemon.stats;

import com.google.protobuf.Value;
import io.weft.api.v1.FieldSketch;
import org.apache.datasketches.frequencies.ErrorType;
import org.apache.datasketches.frequencies.ItemsSketch;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.TgtHllType;

/**
 * The sketches of one event field (part of {@link EventSketches}): how many events had it, its
 * distinct values (HyperLogLog) and its top values (a frequent-items sketch) with error bounds.
 *
 * <p>Values reach the frequent-items sketch through a small exact table of the values seen since it
 * was last flushed, with their counts: a value already in the table costs one probe of a {@code
 * long[]}, and neither a sketch update nor a distinct-count update (the HLL saw it when it entered
 * the table, and counting it again changes nothing). The table is flushed with one weighted update
 * per value ({@code ItemsSketch.update(value, count)}) when it holds {@value #PENDING_MAX} values and
 * before every report, so reports see every event; weighted updates fill the sketch's map, and so
 * purge it, no faster than single ones. The table is keyed by the 64-bit hash of the value alone:
 * two values sharing one (about 1 in 10^13 per flush at {@value #PENDING_MAX} values) would be counted
 * as the first of them.
 *
 * <p>Memory: an HLL of lgK {@value #LG_K} in 8-bit registers (4 KiB), a frequent-items map of
 * {@value #TOP_VALUES_MAP} values and the table ({@value #PENDING_SLOTS} slots of 20 bytes, 80 KiB),
 * each value holding at most {@value #VALUE_CHARS} characters (about 170 bytes): at most about
 * 700 KiB.
 */
final class FieldValues {

    static final int LG_K = 12;
    /** Top values; a larger map purges less often, which is what costs most per update. */
    static final int TOP_VALUES_MAP = 2048;
    /** Values are sketched as text cut to this many characters. */
    static final int VALUE_CHARS = 64;
    /**
     * Slots of the pending table: twice its values, so probes stay short. A field with up to
     * {@value #PENDING_MAX} values in play costs a probe per event; beyond, most values miss
     * (sdk-java/bench/run stats: 171 and 240 ns per event with two such fields).
     */
    static final int PENDING_SLOTS = 4096;
    /** Distinct values the pending table holds before it is flushed into the sketch. */
    static final int PENDING_MAX = PENDING_SLOTS / 2;
    private static final int PENDING_SHIFT = 64 - Integer.numberOfTrailingZeros(PENDING_SLOTS);

    final String name;
    private long count;
    private final HllSketch distinct = new HllSketch(LG_K, TgtHllType.HLL_8);
    private final ItemsSketch<String> top = new ItemsSketch<>(TOP_VALUES_MAP);
    /** Per slot its value's hash and count side by side (one cache line for a hit); count 0: empty. */
    private final long[] pendingCounts = new long[2 * PENDING_SLOTS];
    private final String[] pendingValues = new String[PENDING_SLOTS];
    private int pending;

    FieldValues(String name) {
        this.name = name;
    }

    /** Sketches one value of the field. */
    void add(Value v) {
        count++;
        String s = v.getKindCase() == Value.KindCase.STRING_VALUE ? v.getStringValue() : text(v);
        int chars = Math.min(s.length(), VALUE_CHARS);
        long h = Hashing.hash64(s, chars);
        int i = (int) (h >>> PENDING_SHIFT);
        while (pendingCounts[2 * i + 1] != 0) {
            if (pendingCounts[2 * i] == h) {
                pendingCounts[2 * i + 1]++;
                return;
            }
            i = (i + 1) & (PENDING_SLOTS - 1);
        }
        distinct.update(h);
        pendingCounts[2 * i] = h;
        pendingCounts[2 * i + 1] = 1;
        pendingValues[i] = chars < s.length() ? s.substring(0, chars) : s;
        if (++pending >= PENDING_MAX) {
            flush();
        }
    }

    /** Moves the pending counts into the frequent-items sketch and empties the table. */
    private void flush() {
        for (int i = 0; i < PENDING_SLOTS && pending > 0; i++) {
            long n = pendingCounts[2 * i + 1];
            if (n != 0) {
                top.update(pendingValues[i], n);
                pendingCounts[2 * i + 1] = 0;
                pendingValues[i] = null;
                pending--;
            }
        }
    }

    /** The field's report with at most {@code topN} top values; flushes the pending table first. */
    FieldSketch report(int topN, int stdDevs) {
        flush();
        FieldSketch.Builder fb = FieldSketch.newBuilder()
                .setField(name)
                .setCount(count)
                .setDistinct(distinct.getEstimate())
                .setDistinctLower(distinct.getLowerBound(stdDevs))
                .setDistinctUpper(distinct.getUpperBound(stdDevs));
        ItemsSketch.Row<String>[] rows = top.getFrequentItems(ErrorType.NO_FALSE_NEGATIVES);
        for (int i = 0; i < rows.length && i < topN; i++) {
            fb.addTop(EventSketches.item(rows[i]));
        }
        return fb.build();
    }

    /** Values waiting in the table for the next flush (for tests). */
    int pending() {
        return pending;
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
}
