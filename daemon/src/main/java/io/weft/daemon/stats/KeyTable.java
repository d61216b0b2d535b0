package io.weft.daemon.stats;

import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.TgtHllType;

/**
 * The routing keys {@link EventSketches} counts one by one, each with its exact event count and an
 * HLL of its object ids: an open-addressing table of parallel arrays (key hash, key, count, HLL), so
 * a lookup reads a slot's hash and key and nothing else before the count. The first {@code maxKeys}
 * keys seen are kept for good; later keys are refused.
 *
 * <p>Memory: the table doubles as keys arrive, keeping at most half of its slots used, so at most four
 * slots of 20 bytes per key, beside each key's HLL (lgK {@value #LG_K}, 8-bit registers, 1 KiB) and
 * the key itself (at most 255 bytes).
 */
final class KeyTable {

    static final int LG_K = 10;
    private static final int INITIAL_SLOTS = 64;

    private final int maxKeys;
    private int[] hashes;
    private String[] names;
    private long[] counts;
    private HllSketch[] ids;
    private int shift;
    private int size;

    KeyTable(int maxKeys) {
        this.maxKeys = maxKeys;
        allocate(INITIAL_SLOTS);
    }

    private void allocate(int slots) {
        hashes = new int[slots];
        names = new String[slots];
        counts = new long[slots];
        ids = new HllSketch[slots];
        shift = 32 - Integer.numberOfTrailingZeros(slots);
    }

    /**
     * Counts one event of {@code key} whose id hashes to {@code idHash}; false, counting nothing, when
     * the key is not kept and {@code maxKeys} keys are.
     */
    boolean add(String key, long idHash) {
        int h = key.hashCode();
        int i = slot(h);
        String held;
        while ((held = names[i]) != null) {
            if (hashes[i] == h && (held == key || held.equals(key))) {
                counts[i]++;
                ids[i].update(idHash);
                return true;
            }
            i = (i + 1) & (names.length - 1);
        }
        if (size >= maxKeys) {
            return false;
        }
        if (2 * (size + 1) > names.length) {
            grow();
            i = slot(h);
            while (names[i] != null) {
                i = (i + 1) & (names.length - 1);
            }
        }
        size++;
        hashes[i] = h;
        names[i] = key;
        counts[i] = 1;
        ids[i] = new HllSketch(LG_K, TgtHllType.HLL_8);
        ids[i].update(idHash);
        return true;
    }

    /** Fibonacci hashing: the high bits of the key's hash times 2^32 / phi. */
    private int slot(int h) {
        return (h * 0x9E3779B9) >>> shift;
    }

    private void grow() {
        int[] oldHashes = hashes;
        String[] oldNames = names;
        long[] oldCounts = counts;
        HllSketch[] oldIds = ids;
        allocate(2 * oldNames.length);
        for (int j = 0; j < oldNames.length; j++) {
            if (oldNames[j] != null) {
                int i = slot(oldHashes[j]);
                while (names[i] != null) {
                    i = (i + 1) & (names.length - 1);
                }
                hashes[i] = oldHashes[j];
                names[i] = oldNames[j];
                counts[i] = oldCounts[j];
                ids[i] = oldIds[j];
            }
        }
    }

    /** Keys kept. */
    int size() {
        return size;
    }

    /** Slots, some empty: the range of {@link #name}, {@link #count} and {@link #ids}. */
    int slots() {
        return names.length;
    }

    /** The key in {@code slot}, null when the slot is empty. */
    String name(int slot) {
        return names[slot];
    }

    long count(int slot) {
        return counts[slot];
    }

    HllSketch ids(int slot) {
        return ids[slot];
    }
}
