package io.weft.daemon.view;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.Projection;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A compiled {@link Projection}: lcmon's {@code -t} (trim), {@code -k} (keys) and
 * {@code -z} (drop empty), applied in that order.
 *
 * <ol>
 *   <li><b>trim</b> removes the named keys wherever they occur: at the top, in nested
 *       objects and in objects inside lists.
 *   <li><b>keys</b>, when given, replace the fields by the extracted keys, in the order the
 *       keys were given. The search is breadth-first through nested objects and lists, so
 *       top-level fields are seen first. {@code name} takes the first match; {@code *name}
 *       takes every match, in search order, as a list under {@code name}. A key with no
 *       match is omitted.
 *   <li><b>drop_empty</b> removes null, {@code ""}, {@code []} and {@code {}} values,
 *       recursively, in objects and in lists; an object or list that becomes empty is
 *       removed in turn.
 * </ol>
 *
 * <p>Immutable; safe to share. Values not changed by a step are returned as they came
 * (no copy).
 */
public final class Projector {

    private static final Projector IDENTITY = new Projector(Set.of(), List.of(), false);

    private final Set<String> trim;
    private final List<KeySpec> keys;
    /** Key name to the indexes in {@link #keys} that want it. */
    private final Map<String, int[]> keyIndex;
    private final boolean dropEmpty;

    private Projector(Set<String> trim, List<KeySpec> keys, boolean dropEmpty) {
        this.trim = trim;
        this.keys = keys;
        this.dropEmpty = dropEmpty;
        Map<String, int[]> index = new HashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            int[] old = index.getOrDefault(keys.get(i).name, new int[0]);
            int[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = i;
            index.put(keys.get(i).name, grown);
        }
        this.keyIndex = index;
    }

    /**
     * Compiles a projection.
     *
     * @param projection the request's projection
     * @return the projector; {@link #isIdentity()} when the projection is empty
     */
    public static Projector compile(Projection projection) {
        if (projection.getKeysCount() == 0 && projection.getTrimCount() == 0 && !projection.getDropEmpty()) {
            return IDENTITY;
        }
        List<KeySpec> keys = new ArrayList<>();
        for (String k : projection.getKeysList()) {
            keys.add(k.startsWith("*") ? new KeySpec(k.substring(1), true) : new KeySpec(k, false));
        }
        return new Projector(Set.copyOf(projection.getTrimList()), List.copyOf(keys),
                projection.getDropEmpty());
    }

    /** True when the projection is empty and {@link #apply} would return its input. */
    public boolean isIdentity() {
        return this == IDENTITY;
    }

    /**
     * Projects an object's fields.
     *
     * @param fields the fields
     * @return the projected fields
     */
    public Struct apply(Struct fields) {
        Struct out = fields;
        if (!trim.isEmpty()) {
            out = trimStruct(out);
        }
        if (!keys.isEmpty()) {
            out = extract(out);
        }
        if (dropEmpty) {
            out = dropEmptyStruct(out);
        }
        return out;
    }

    private Struct extract(Struct root) {
        Value[] first = new Value[keys.size()];
        ListValue.Builder[] all = new ListValue.Builder[keys.size()];
        int firstsWanted = 0;
        for (KeySpec k : keys) {
            firstsWanted += k.all ? 0 : 1;
        }
        boolean anyAll = firstsWanted < keys.size();
        ArrayDeque<Object> queue = new ArrayDeque<>();
        queue.add(root);
        // Stop early once every plain key is found and no *key needs the rest of the tree.
        while (!queue.isEmpty() && (anyAll || firstsWanted > 0)) {
            Object node = queue.poll();
            if (node instanceof Struct s) {
                for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
                    int[] wants = keyIndex.get(e.getKey());
                    if (wants != null) {
                        for (int i : wants) {
                            if (keys.get(i).all) {
                                if (all[i] == null) {
                                    all[i] = ListValue.newBuilder();
                                }
                                all[i].addValues(e.getValue());
                            } else if (first[i] == null) {
                                first[i] = e.getValue();
                                firstsWanted--;
                            }
                        }
                    }
                    enqueueContainer(queue, e.getValue());
                }
            } else {
                for (Value v : ((ListValue) node).getValuesList()) {
                    enqueueContainer(queue, v);
                }
            }
        }
        Struct.Builder out = Struct.newBuilder();
        for (int i = 0; i < keys.size(); i++) {
            if (first[i] != null) {
                out.putFields(keys.get(i).name, first[i]);
            } else if (all[i] != null) {
                out.putFields(keys.get(i).name, Value.newBuilder().setListValue(all[i]).build());
            }
        }
        return out.build();
    }

    private static void enqueueContainer(ArrayDeque<Object> queue, Value v) {
        if (v.hasStructValue()) {
            queue.add(v.getStructValue());
        } else if (v.hasListValue()) {
            queue.add(v.getListValue());
        }
    }

    private Struct trimStruct(Struct s) {
        Struct.Builder out = null;
        int seen = 0;
        for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
            boolean drop = trim.contains(e.getKey());
            Value v = drop ? null : trimValue(e.getValue());
            if (out == null && (drop || v != e.getValue())) {
                out = copyOfFirst(s, seen);
            }
            if (out != null && !drop) {
                out.putFields(e.getKey(), v);
            }
            seen++;
        }
        return out == null ? s : out.build();
    }

    private Value trimValue(Value v) {
        if (v.hasStructValue()) {
            Struct s = trimStruct(v.getStructValue());
            return s == v.getStructValue() ? v : Value.newBuilder().setStructValue(s).build();
        }
        if (v.hasListValue()) {
            ListValue l = v.getListValue();
            ListValue.Builder out = null;
            for (int i = 0; i < l.getValuesCount(); i++) {
                Value item = trimValue(l.getValues(i));
                if (out == null && item != l.getValues(i)) {
                    out = ListValue.newBuilder().addAllValues(l.getValuesList().subList(0, i));
                }
                if (out != null) {
                    out.addValues(item);
                }
            }
            return out == null ? v : Value.newBuilder().setListValue(out).build();
        }
        return v;
    }

    private static Struct dropEmptyStruct(Struct s) {
        Struct.Builder out = null;
        int seen = 0;
        for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
            Value v = dropEmptyValue(e.getValue());
            if (out == null && v != e.getValue()) {
                out = copyOfFirst(s, seen);
            }
            if (out != null && v != null) {
                out.putFields(e.getKey(), v);
            }
            seen++;
        }
        return out == null ? s : out.build();
    }

    /** Returns null when the value is (or becomes) empty, the same instance when unchanged. */
    private static Value dropEmptyValue(Value v) {
        switch (v.getKindCase()) {
            case NULL_VALUE, KIND_NOT_SET:
                return null;
            case STRING_VALUE:
                return v.getStringValue().isEmpty() ? null : v;
            case STRUCT_VALUE: {
                Struct s = dropEmptyStruct(v.getStructValue());
                if (s.getFieldsCount() == 0) {
                    return null;
                }
                return s == v.getStructValue() ? v : Value.newBuilder().setStructValue(s).build();
            }
            case LIST_VALUE: {
                ListValue l = v.getListValue();
                ListValue.Builder out = null;
                for (int i = 0; i < l.getValuesCount(); i++) {
                    Value item = dropEmptyValue(l.getValues(i));
                    if (out == null && item != l.getValues(i)) {
                        out = ListValue.newBuilder().addAllValues(l.getValuesList().subList(0, i));
                    }
                    if (out != null && item != null) {
                        out.addValues(item);
                    }
                }
                ListValue kept = out == null ? l : out.build();
                if (kept.getValuesCount() == 0) {
                    return null;
                }
                return kept == l ? v : Value.newBuilder().setListValue(kept).build();
            }
            default:
                return v;
        }
    }

    /** A builder holding the first {@code n} entries of {@code s}, in order. */
    private static Struct.Builder copyOfFirst(Struct s, int n) {
        Struct.Builder b = Struct.newBuilder();
        int i = 0;
        for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
            if (i++ == n) {
                break;
            }
            b.putFields(e.getKey(), e.getValue());
        }
        return b;
    }

    /** One requested key: {@code name}, or {@code *name} when {@code all}. */
    private record KeySpec(String name, boolean all) {
    }
}
