package io.weft.daemon.stats;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.AddOp;
import io.weft.api.v1.AppendOp;
import io.weft.api.v1.DerivedError;
import io.weft.api.v1.PutOp;
import io.weft.api.v1.SnapshotResponse;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsPath;
import io.weft.daemon.stats.StatsModel.Collection;
import io.weft.daemon.stats.StatsModel.Derived;
import io.weft.daemon.stats.StatsModel.Entry;
import io.weft.daemon.stats.StatsModel.Namespace;
import io.weft.daemon.stats.StatsModel.Record;
import io.weft.daemon.stats.StatsModel.Scalar;
import io.weft.daemon.stats.StatsModel.Shape;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Every statistics namespace (DESIGN §7): applies ops, keeps the bounds of {@link StatsLimits}, and
 * produces the extrapolated report. Broker-owned: one thread, no locks.
 *
 * <p>Ops arrive validated by the gRPC layer (names, scalar values, parsed expressions); what is
 * checked here depends on what is stored: conflicts of shape (STATS_CONFLICT) and bounds
 * (STATS_FULL).
 */
public final class StatsRegistry {

    /** The name under which every namespace reports its switch. */
    public static final String ENABLED = "Enabled";

    private final StatsLimits limits;
    private final LinkedHashMap<String, Namespace> namespaces = new LinkedHashMap<>();
    private BiConsumer<String, Boolean> onEnabledChange = (ns, on) -> { };
    private int values;
    private long opsRejectedFull;

    public StatsRegistry(StatsLimits limits) {
        this.limits = limits;
    }

    /** Told (on the broker thread) whenever a namespace is switched or created. */
    public void onEnabledChange(BiConsumer<String, Boolean> listener) {
        this.onEnabledChange = listener;
    }

    /** Stored values now (bounded by {@link StatsLimits#maxValues()}). */
    public int values() {
        return values;
    }

    /** Ops refused so far because a bound was reached. */
    public long rejectedFull() {
        return opsRejectedFull;
    }

    /** True when the namespace collects (absent namespaces do: they are created on first use). */
    public boolean isEnabled(String namespace) {
        Namespace ns = namespaces.get(namespace);
        return ns == null || ns.enabled;
    }

    /** Every namespace's switch, in creation order. */
    public Map<String, Boolean> switches() {
        Map<String, Boolean> out = new LinkedHashMap<>();
        namespaces.forEach((name, ns) -> out.put(name, ns.enabled));
        return out;
    }

    /**
     * Switches a namespace, creating it when absent.
     *
     * @return the switch before, or null when a new namespace would pass the bound
     */
    public Boolean setEnabled(String namespace, boolean enabled) {
        Namespace ns = namespaces.get(namespace);
        if (ns == null) {
            ns = createNamespace(namespace);
            if (ns == null) {
                return null;
            }
        }
        boolean was = ns.enabled;
        ns.enabled = enabled;
        if (was != enabled) {
            onEnabledChange.accept(namespace, enabled);
        }
        return was;
    }

    /**
     * Applies one op.
     *
     * @param expression the op's parsed expression for a derive, else null
     * @param nowNs the broker's monotonic clock (creation time of new counters, for rate())
     * @return null when applied, {@link Rejection#DISABLED} when its namespace is off, else why not
     */
    public Rejection apply(StatsOp op, Expression expression, long nowNs) {
        Namespace ns = namespaces.get(op.getNamespace());
        if (ns == null) {
            ns = createNamespace(op.getNamespace());
            if (ns == null) {
                return full("namespace '" + op.getNamespace() + "': stats.max-namespaces (" + limits.maxNamespaces()
                        + ") namespaces exist already");
            }
        }
        if (!ns.enabled) {
            return Rejection.DISABLED;
        }
        switch (op.getOpCase()) {
            case ADD:
                return add(ns, op.getAdd(), nowNs);
            case SET:
                return set(ns, op.getSet().getPath(), op.getSet().getValue(), nowNs);
            case PUT:
                return put(ns, op.getPut(), nowNs);
            case APPEND:
                return append(ns, op.getAppend(), nowNs);
            case REMOVE:
                return remove(ns, op.getRemove().getPath());
            case DERIVE:
                return derive(ns, op.getDerive().getCollection(), op.getDerive().getKey(), expression);
            default:
                throw new IllegalArgumentException("op without a kind reached the registry");
        }
    }

    // ---- ops ----

    private Rejection add(Namespace ns, AddOp add, long nowNs) {
        StatsPath p = add.getPath();
        Scalar s;
        if (p.getCollection().isEmpty()) {
            Entry e = ns.entries.get(p.getKey());
            if (e == null) {
                Rejection r = roomForEntry(ns, p.getKey());
                if (r != null) {
                    return r;
                }
                s = new Scalar(nowNs);
                ns.entries.put(p.getKey(), s);
                values++;
            } else if (e instanceof Scalar sc) {
                s = sc;
            } else {
                return conflict(ns, p, "is " + describe(e) + "; add needs a number");
            }
        } else {
            Object found = recordScalar(ns, p, nowNs);
            if (found instanceof Rejection r) {
                return r;
            }
            s = (Scalar) found;
        }
        if (!s.numeric) {
            return conflict(ns, p, "holds " + show(s) + ", not a number; add needs a number");
        }
        s.number += add.getDelta();
        return null;
    }

    private Rejection set(Namespace ns, StatsPath p, Value v, long nowNs) {
        if (p.getCollection().isEmpty()) {
            if (p.getKey().equals(ENABLED)) {
                return conflict(ns, p, "is the namespace's switch; use SetEnabled");
            }
            Entry e = ns.entries.get(p.getKey());
            if (e == null) {
                Rejection r = roomForEntry(ns, p.getKey());
                if (r != null) {
                    return r;
                }
                Scalar s = new Scalar(nowNs);
                store(s, v);
                ns.entries.put(p.getKey(), s);
                values++;
                return null;
            }
            if (!(e instanceof Scalar s)) {
                return conflict(ns, p, "is " + describe(e) + "; set needs a scalar");
            }
            store(s, v);
            return null;
        }
        Object found = recordScalar(ns, p, nowNs);
        if (found instanceof Rejection r) {
            return r;
        }
        store((Scalar) found, v);
        return null;
    }

    /** The scalar at collection/record/key, created with 0 when absent; or why there is none. */
    private Object recordScalar(Namespace ns, StatsPath p, long nowNs) {
        Object c = collection(ns, p.getCollection(), Shape.MAP);
        if (c instanceof Rejection r) {
            return r;
        }
        Collection coll = (Collection) c;
        Record rec = coll.map.get(p.getRecordKey());
        if (rec == null) {
            if (coll.map.size() >= limits.maxRecords()) {
                return full("'" + ns.name + "' / '" + p.getCollection() + "': stats.max-records (" + limits.maxRecords()
                        + ") records exist already");
            }
            rec = new Record();
            coll.map.put(p.getRecordKey(), rec);
        }
        Scalar s = rec.values.get(p.getKey());
        if (s == null) {
            if (values >= limits.maxValues()) {
                return fullValues();
            }
            s = new Scalar(nowNs);
            rec.values.put(p.getKey(), s);
            values++;
        }
        return s;
    }

    private Rejection put(Namespace ns, PutOp put, long nowNs) {
        Object c = collection(ns, put.getCollection(), Shape.MAP);
        if (c instanceof Rejection r) {
            return r;
        }
        Collection coll = (Collection) c;
        Record old = coll.map.get(put.getRecordKey());
        if (old == null && coll.map.size() >= limits.maxRecords()) {
            return full("'" + ns.name + "' / '" + put.getCollection() + "': stats.max-records (" + limits.maxRecords()
                    + ") records exist already");
        }
        int freed = old == null ? 0 : old.values.size();
        if (values - freed + put.getRecord().getFieldsCount() > limits.maxValues()) {
            return fullValues();
        }
        coll.map.put(put.getRecordKey(), record(put.getRecord(), nowNs));
        values += put.getRecord().getFieldsCount() - freed;
        return null;
    }

    private Rejection append(Namespace ns, AppendOp append, long nowNs) {
        Object c = collection(ns, append.getCollection(), Shape.LIST);
        if (c instanceof Rejection r) {
            return r;
        }
        Collection coll = (Collection) c;
        if (append.getMaxLen() > 0) {
            coll.maxLength = Math.min(append.getMaxLen(), limits.maxRecords());
        } else if (coll.maxLength == 0) {
            coll.maxLength = limits.defaultListLength();
        }
        int fields = append.getRecord().getFieldsCount();
        int freeable = 0;
        int over = coll.list.size() + 1 - coll.maxLength;
        Iterator<Record> it = coll.list.iterator();
        for (int i = 0; i < over && it.hasNext(); i++) {
            freeable += it.next().values.size();
        }
        if (values - freeable + fields > limits.maxValues()) {
            return fullValues();
        }
        while (coll.list.size() >= coll.maxLength) {
            values -= coll.list.pollFirst().values.size();
        }
        coll.list.addLast(record(append.getRecord(), nowNs));
        values += fields;
        return null;
    }

    private Rejection remove(Namespace ns, StatsPath p) {
        if (p.getCollection().isEmpty()) {
            Entry e = ns.entries.remove(p.getKey());
            if (e != null) {
                values -= weight(e);
            }
            return null;
        }
        Entry e = ns.entries.get(p.getCollection());
        if (e == null) {
            return null;
        }
        if (!(e instanceof Collection coll)) {
            return conflict(ns, p, "'" + p.getCollection() + "' is " + describe(e) + ", not a collection");
        }
        if (p.getRecordKey().isEmpty()) {
            if (coll.derived.remove(p.getKey()) != null) {
                values--;
            }
            return null;
        }
        if (coll.shape == Shape.LIST) {
            return conflict(ns, p, "'" + p.getCollection() + "' is a list; its records have no keys");
        }
        Record rec = coll.map.get(p.getRecordKey());
        if (rec == null) {
            return null;
        }
        if (p.getKey().isEmpty()) {
            coll.map.remove(p.getRecordKey());
            values -= rec.values.size();
        } else if (rec.values.remove(p.getKey()) != null) {
            values--;
        }
        return null;
    }

    private Rejection derive(Namespace ns, String collection, String key, Expression expression) {
        if (collection.isEmpty()) {
            if (key.equals(ENABLED)) {
                return Rejection.conflict("'" + ns.name + "' / 'Enabled' is the namespace's switch");
            }
            Entry e = ns.entries.get(key);
            if (e == null) {
                Rejection r = roomForEntry(ns, key);
                if (r != null) {
                    return r;
                }
                ns.entries.put(key, new Derived(expression));
                values++;
                return null;
            }
            if (!(e instanceof Derived d)) {
                return Rejection.conflict("'" + ns.name + "' / '" + key + "' is " + describe(e)
                        + "; remove it before deriving it");
            }
            d.expression = expression;
            return null;
        }
        Object c = collection(ns, collection, Shape.UNDECIDED);
        if (c instanceof Rejection r) {
            return r;
        }
        Collection coll = (Collection) c;
        if (!coll.derived.containsKey(key)) {
            if (values >= limits.maxValues()) {
                return fullValues();
            }
            values++;
        }
        coll.derived.put(key, expression);
        return null;
    }

    // ---- helpers ----

    /** The collection under {@code name}, created when absent; its shape fixed when still open. */
    private Object collection(Namespace ns, String name, Shape wanted) {
        Entry e = ns.entries.get(name);
        if (e == null) {
            Rejection r = roomForEntry(ns, name);
            if (r != null) {
                return r;
            }
            Collection c = new Collection();
            ns.entries.put(name, c);
            values++;
            e = c;
        }
        if (!(e instanceof Collection c)) {
            return Rejection.conflict("'" + ns.name + "' / '" + name + "' is " + describe(e) + ", not a collection");
        }
        if (wanted != Shape.UNDECIDED) {
            if (c.shape == Shape.UNDECIDED) {
                c.shape = wanted;
            } else if (c.shape != wanted) {
                return Rejection.conflict("'" + ns.name + "' / '" + name + "' is a " + (c.shape == Shape.MAP
                        ? "map collection (put records by key)" : "list collection (append records)"));
            }
        }
        return c;
    }

    private Namespace createNamespace(String name) {
        if (namespaces.size() >= limits.maxNamespaces()) {
            return null;
        }
        Namespace ns = new Namespace(name);
        namespaces.put(name, ns);
        onEnabledChange.accept(name, true);
        return ns;
    }

    private Rejection roomForEntry(Namespace ns, String key) {
        if (key.equals(ENABLED)) {
            return Rejection.conflict("'" + ns.name + "' / 'Enabled' is the namespace's switch; use SetEnabled");
        }
        if (ns.entries.size() >= limits.maxEntries()) {
            return full("'" + ns.name + "': stats.max-entries (" + limits.maxEntries() + ") entries exist already");
        }
        if (values >= limits.maxValues()) {
            return fullValues();
        }
        return null;
    }

    private Record record(Struct fields, long nowNs) {
        Record rec = new Record();
        for (Map.Entry<String, Value> f : fields.getFieldsMap().entrySet()) {
            Scalar s = new Scalar(nowNs);
            store(s, f.getValue());
            rec.values.put(f.getKey(), s);
        }
        return rec;
    }

    private static void store(Scalar s, Value v) {
        switch (v.getKindCase()) {
            case NUMBER_VALUE:
                s.setNumber(v.getNumberValue());
                break;
            case STRING_VALUE:
                s.setOther(v.getStringValue());
                break;
            case BOOL_VALUE:
                s.setOther(v.getBoolValue());
                break;
            default:
                s.setOther(StatsModel.NULL);
                break;
        }
    }

    private int weight(Entry e) {
        if (e instanceof Collection c) {
            int n = 1 + c.derived.size();
            for (Record r : c.records()) {
                n += r.values.size();
            }
            return n;
        }
        return 1;
    }

    private Rejection full(String description) {
        opsRejectedFull++;
        return Rejection.full(description);
    }

    private Rejection fullValues() {
        return full("stats.max-values (" + limits.maxValues() + ") values are stored already");
    }

    private static Rejection conflict(Namespace ns, StatsPath p, String what) {
        String where = p.getCollection().isEmpty() ? "'" + ns.name + "' / '" + p.getKey() + "'"
                : "'" + ns.name + "' / '" + p.getCollection() + "' / '" + p.getRecordKey() + "' / '" + p.getKey() + "'";
        return Rejection.conflict(where + " " + what);
    }

    private static String describe(Entry e) {
        if (e instanceof Collection c) {
            return c.shape == Shape.LIST ? "a list collection" : "a collection";
        }
        if (e instanceof Derived) {
            return "a derived value";
        }
        return "a scalar";
    }

    private static String show(Scalar s) {
        return s.other instanceof String str ? "the string '" + str + "'" : String.valueOf(s.other);
    }

    // ---- report ----

    /**
     * The extrapolated report: stored values copied, derived values evaluated against their scope.
     * Changes nothing stored (only the rate samples that {@code rate()} keeps).
     *
     * @param only namespaces to report; empty = all
     * @param nowNs monotonic clock
     * @param nowUnixNanos wall clock
     * @param uptimeSeconds the daemon's uptime
     */
    public SnapshotResponse snapshot(Set<String> only, long nowNs, long nowUnixNanos, double uptimeSeconds) {
        SnapshotResponse.Builder out = SnapshotResponse.newBuilder().setTimeUnixNanos(nowUnixNanos);
        Struct.Builder all = Struct.newBuilder();
        List<DerivedError> errors = new ArrayList<>();
        Evaluator eval = new Evaluator(nowNs, nowUnixNanos / 1e9, uptimeSeconds, errors);
        for (Namespace ns : namespaces.values()) {
            if (!only.isEmpty() && !only.contains(ns.name)) {
                continue;
            }
            all.putFields(ns.name, Value.newBuilder().setStructValue(report(ns, eval)).build());
        }
        return out.setNamespaces(all).addAllErrors(errors).build();
    }

    private Struct report(Namespace ns, Evaluator eval) {
        Struct.Builder b = Struct.newBuilder();
        b.putFields(ENABLED, Value.newBuilder().setBoolValue(ns.enabled).build());
        eval.namespace(ns);
        for (Map.Entry<String, Entry> en : ns.entries.entrySet()) {
            Entry e = en.getValue();
            Value v;
            if (e instanceof Scalar s) {
                v = value(s);
            } else if (e instanceof Derived d) {
                v = eval.evaluate(d.expression, null, "", "", en.getKey());
            } else {
                v = collection(en.getKey(), (Collection) e, eval);
            }
            b.putFields(en.getKey(), v);
        }
        return b.build();
    }

    private Value collection(String name, Collection c, Evaluator eval) {
        if (c.shape == Shape.LIST) {
            ListValue.Builder list = ListValue.newBuilder();
            int i = 0;
            for (Record r : c.list) {
                list.addValues(Value.newBuilder().setStructValue(record(name, Integer.toString(i++), r, c, eval)));
            }
            return Value.newBuilder().setListValue(list).build();
        }
        Struct.Builder map = Struct.newBuilder();
        for (Map.Entry<String, Record> r : c.map.entrySet()) {
            map.putFields(r.getKey(), Value.newBuilder().setStructValue(record(name, r.getKey(), r.getValue(), c, eval))
                    .build());
        }
        return Value.newBuilder().setStructValue(map).build();
    }

    private Struct record(String collection, String key, Record r, Collection c, Evaluator eval) {
        Struct.Builder b = Struct.newBuilder();
        for (Map.Entry<String, Scalar> v : r.values.entrySet()) {
            b.putFields(v.getKey(), value(v.getValue()));
        }
        for (Map.Entry<String, Expression> d : c.derived.entrySet()) {
            b.putFields(d.getKey(), eval.evaluate(d.getValue(), r, collection, key, d.getKey()));
        }
        return b.build();
    }

    private static final Value NULL_VALUE = Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    private static final Value TRUE = Value.newBuilder().setBoolValue(true).build();
    private static final Value FALSE = Value.newBuilder().setBoolValue(false).build();

    private static Value value(Scalar s) {
        if (s.numeric) {
            return Value.newBuilder().setNumberValue(s.number).build();
        }
        if (s.other instanceof String str) {
            return Value.newBuilder().setStringValue(str).build();
        }
        if (s.other instanceof Boolean b) {
            return b ? TRUE : FALSE;
        }
        return NULL_VALUE;
    }

    /** Evaluates derived values of one report; one scope at a time. */
    private static final class Evaluator implements EvalScope {
        /** rate() measures over at least this window; asked sooner, it repeats the last rate. */
        static final long RATE_WINDOW_NS = 1_000_000_000L;

        private final long nowNs;
        private final double nowSeconds;
        private final double uptime;
        private final List<DerivedError> errors;
        private Namespace ns;
        private String nsName;
        private Record rec;

        Evaluator(long nowNs, double nowSeconds, double uptime, List<DerivedError> errors) {
            this.nowNs = nowNs;
            this.nowSeconds = nowSeconds;
            this.uptime = uptime;
            this.errors = errors;
        }

        void namespace(Namespace n) {
            ns = n;
            nsName = n.name;
        }

        /** Evaluates in the scope of {@code scope}, or of the namespace when it is null. */
        Value evaluate(Expression e, Record scope, String collection, String record, String key) {
            rec = scope;
            try {
                return Value.newBuilder().setNumberValue(e.evaluate(this)).build();
            } catch (EvalException ex) {
                errors.add(DerivedError.newBuilder()
                        .setNamespace(nsName)
                        .setCollection(collection)
                        .setRecord(record)
                        .setKey(key)
                        .setExpression(e.text())
                        .setError(ex.getMessage())
                        .build());
                return NULL_VALUE;
            }
        }

        @Override
        public double now() {
            return nowSeconds;
        }

        @Override
        public double uptime() {
            return uptime;
        }

        private Scalar scalar(String name) {
            if (rec != null) {
                Scalar s = rec.values.get(name);
                if (s == null) {
                    throw new EvalException("the record has no value '" + name + "'");
                }
                return s;
            }
            Entry e = ns.entries.get(name);
            if (e == null) {
                throw new EvalException("namespace '" + nsName + "' has no entry '" + name + "'");
            }
            if (e instanceof Scalar s) {
                return s;
            }
            throw new EvalException("'" + name + "' is " + describe(e) + "; expressions see stored scalars only");
        }

        @Override
        public double number(String name) {
            Scalar s = scalar(name);
            if (!s.numeric) {
                throw new EvalException("'" + name + "' holds " + show(s) + ", not a number");
            }
            return s.number;
        }

        @Override
        public double rate(String name) {
            Scalar s = scalar(name);
            if (!s.numeric) {
                throw new EvalException("rate(" + name + "): '" + name + "' holds " + show(s) + ", not a number");
            }
            StatsModel.RateSample r = s.rate;
            if (r == null) {
                // First report: the counter started at 0 when it was created, if that was a window
                // ago; a counter created (or first written) just now has no rate yet.
                r = new StatsModel.RateSample();
                s.rate = r;
                long span = nowNs - s.createdNs;
                r.rate = span >= RATE_WINDOW_NS ? s.number / (span / 1e9) : 0;
                r.value = s.number;
                r.atNs = nowNs;
                return r.rate;
            }
            long span = nowNs - r.atNs;
            if (span >= RATE_WINDOW_NS) {
                double delta = s.number >= r.value ? s.number - r.value : s.number;
                r.rate = delta / (span / 1e9);
                r.value = s.number;
                r.atNs = nowNs;
            }
            return r.rate;
        }

        @Override
        public void aggregate(String collection, String key, Aggregate into) {
            for (Record r : records(collection)) {
                Scalar s = r.values.get(key);
                if (s != null && s.numeric) {
                    into.add(s.number);
                }
            }
        }

        @Override
        public int count(String collection) {
            Entry e = ns.entries.get(collection);
            if (!(e instanceof Collection c)) {
                throw new EvalException("namespace '" + nsName + "' has no collection '" + collection + "'");
            }
            return c.size();
        }

        private Iterable<Record> records(String collection) {
            Entry e = ns.entries.get(collection);
            if (!(e instanceof Collection c)) {
                throw new EvalException("namespace '" + nsName + "' has no collection '" + collection + "'");
            }
            return c.records();
        }
    }
}
