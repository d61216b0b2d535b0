package io.weft.daemon.core;

import java.util.HashMap;

/**
 * Shares equal values (field names, routing keys, header maps) between collated objects: a
 * hundred thousand objects with the same five field names hold five strings, not half a million.
 * Bounded: once {@code max} values are held, new ones are used as they are and counted. Broker-owned.
 */
final class Interner<T> {

    private final HashMap<T, T> canonical = new HashMap<>();
    private final int max;
    private long overflows;

    Interner(int max) {
        this.max = max;
    }

    /** The canonical instance equal to {@code value}, or {@code value} itself. */
    T intern(T value) {
        T c = canonical.get(value);
        if (c != null) {
            return c;
        }
        if (canonical.size() < max) {
            canonical.put(value, value);
        } else {
            overflows++;
        }
        return value;
    }

    int size() {
        return canonical.size();
    }

    /** Values not shared because the interner was full. */
    long overflows() {
        return overflows;
    }
}
