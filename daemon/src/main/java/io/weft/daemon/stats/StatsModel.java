package io.weft.daemon.stats;

import java.util.ArrayDeque;
import java.util.LinkedHashMap;

/** The stored shapes of the 4-level model. Broker-owned, no locking. */
final class StatsModel {

    private StatsModel() {
    }

    /** JSON null as a stored value. */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /** A namespace: its switch and its entries in the order they were created. */
    static final class Namespace {
        final String name;
        boolean enabled = true;
        final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();

        Namespace(String name) {
            this.name = name;
        }
    }

    /** What a namespace holds under one name. */
    abstract static class Entry {
    }

    /**
     * A scalar: a number (kept unboxed, so that an add allocates nothing) or a string, a boolean or
     * null. Remembers when it was created and, once {@code rate()} asked, its last sample.
     */
    static final class Scalar extends Entry {
        boolean numeric;
        double number;
        Object other;
        final long createdNs;
        RateSample rate;

        Scalar(long createdNs) {
            this.createdNs = createdNs;
            this.numeric = true;
        }

        void setNumber(double v) {
            numeric = true;
            number = v;
            other = null;
        }

        void setOther(Object v) {
            numeric = false;
            other = v;
        }
    }

    /** A value computed at report time. */
    static final class Derived extends Entry {
        Expression expression;

        Derived(Expression expression) {
            this.expression = expression;
        }
    }

    /** The last sample of a counter seen by {@code rate()}, and the rate it gave. */
    static final class RateSample {
        double value;
        long atNs;
        double rate;
    }

    /** How a collection holds its records; fixed by the first put or append. */
    enum Shape {
        UNDECIDED,
        MAP,
        LIST,
    }

    /**
     * A collection: a map of records by key, or a bounded list of records; plus derived values
     * computed for each record.
     */
    static final class Collection extends Entry {
        Shape shape = Shape.UNDECIDED;
        final LinkedHashMap<String, Record> map = new LinkedHashMap<>();
        final ArrayDeque<Record> list = new ArrayDeque<>();
        int maxLength;
        final LinkedHashMap<String, Expression> derived = new LinkedHashMap<>();

        int size() {
            return shape == Shape.LIST ? list.size() : map.size();
        }

        Iterable<Record> records() {
            return shape == Shape.LIST ? list : map.values();
        }
    }

    /** A record: named scalars. */
    static final class Record {
        final LinkedHashMap<String, Scalar> values = new LinkedHashMap<>();
    }
}
