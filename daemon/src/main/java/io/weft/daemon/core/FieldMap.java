package io.weft.daemon.core;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Arrays;
import java.util.HashMap;

/**
 * The merged fields of one live object, in insertion order, kept compact: two parallel arrays
 * searched linearly while small (most objects have a handful of fields), with a hash index once
 * they grow past {@link #INDEX_THRESHOLD}. A LinkedHashMap would cost several times the memory
 * per object, and live objects are counted in hundreds of thousands. Broker-owned.
 */
final class FieldMap {

    static final int INDEX_THRESHOLD = 16;
    /** Estimated heap bytes of one field beyond its value's encoded size (slots, key, Value object). */
    static final int FIELD_OVERHEAD_BYTES = 48;
    private static final String[] NO_KEYS = {};
    private static final Value[] NO_VALUES = {};

    private String[] keys = NO_KEYS;
    private Value[] values = NO_VALUES;
    private int size;
    private long bytes;
    private HashMap<String, Integer> index;

    /** Sets a field; a new name is interned so that objects share it. */
    void put(String key, Value value, Interner<String> names) {
        int i = indexOf(key);
        if (i >= 0) {
            bytes += value.getSerializedSize() - values[i].getSerializedSize();
            values[i] = value;
            return;
        }
        append(names.intern(key), value);
    }

    /** Sets a field only when it is absent (a late BORN must not overwrite newer values). */
    void putIfAbsent(String key, Value value, Interner<String> names) {
        if (indexOf(key) < 0) {
            append(names.intern(key), value);
        }
    }

    void remove(String key) {
        int i = indexOf(key);
        if (i < 0) {
            return;
        }
        bytes -= FIELD_OVERHEAD_BYTES + values[i].getSerializedSize();
        int tail = size - i - 1;
        System.arraycopy(keys, i + 1, keys, i, tail);
        System.arraycopy(values, i + 1, values, i, tail);
        size--;
        keys[size] = null;
        values[size] = null;
        if (index != null) {
            rebuildIndex();
        }
    }

    int size() {
        return size;
    }

    /** Estimated heap bytes of the fields: encoded values (memoized by protobuf) plus overhead. */
    long bytes() {
        return bytes;
    }

    Struct toStruct() {
        Struct.Builder b = Struct.newBuilder();
        for (int i = 0; i < size; i++) {
            b.putFields(keys[i], values[i]);
        }
        return b.build();
    }

    private int indexOf(String key) {
        if (index != null) {
            Integer i = index.get(key);
            return i == null ? -1 : i;
        }
        for (int i = 0; i < size; i++) {
            String k = keys[i];
            if (k == key || k.equals(key)) {
                return i;
            }
        }
        return -1;
    }

    private void append(String key, Value value) {
        if (size == keys.length) {
            int cap = Math.max(4, size * 2);
            keys = Arrays.copyOf(keys, cap);
            values = Arrays.copyOf(values, cap);
        }
        keys[size] = key;
        values[size] = value;
        size++;
        bytes += FIELD_OVERHEAD_BYTES + value.getSerializedSize();
        if (index != null) {
            index.put(key, size - 1);
        } else if (size > INDEX_THRESHOLD) {
            rebuildIndex();
        }
    }

    private void rebuildIndex() {
        if (size <= INDEX_THRESHOLD) {
            index = null;
            return;
        }
        index = new HashMap<>(size * 2);
        for (int i = 0; i < size; i++) {
            index.put(keys[i], i);
        }
    }
}
