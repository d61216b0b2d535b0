package io.weft.daemon.core;

import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.TreeSet;

/**
 * The calls in flight (broker thread only), by id, by deadline (for expiry) and by start (for the
 * slow-call warning). Bounded by {@code capacity}: the router refuses new calls when it is full.
 */
final class PendingCalls {

    private final int capacity;
    private final HashMap<String, PendingCall> byId = new HashMap<>();
    private final TreeSet<PendingCall> byDeadline = new TreeSet<>(
            Comparator.<PendingCall>comparingLong(p -> p.deadlineNs).thenComparingLong(p -> p.seq));
    /** Calls not yet warned about, in start order = warning order (one threshold for all). */
    private final LinkedHashSet<PendingCall> unwarned = new LinkedHashSet<>();

    PendingCalls(int capacity) {
        this.capacity = capacity;
    }

    boolean isFull() {
        return byId.size() >= capacity;
    }

    int size() {
        return byId.size();
    }

    int capacity() {
        return capacity;
    }

    void add(PendingCall p) {
        byId.put(p.id, p);
        byDeadline.add(p);
        unwarned.add(p);
    }

    PendingCall get(String id) {
        return byId.get(id);
    }

    void remove(PendingCall p) {
        p.done = true;
        byId.remove(p.id);
        byDeadline.remove(p);
        unwarned.remove(p);
    }

    /** The call with the earliest deadline, or null. */
    PendingCall earliest() {
        return byDeadline.isEmpty() ? null : byDeadline.first();
    }

    /** The oldest call not yet warned about, or null. */
    PendingCall oldestUnwarned() {
        // Asked on every broker cycle: no iterator unless there is a call (the idle loop allocates nothing).
        return unwarned.isEmpty() ? null : unwarned.iterator().next();
    }

    /** The call was warned about: it leaves the warning order. */
    void warned(PendingCall p) {
        p.warned = true;
        unwarned.remove(p);
    }

    /** Every call in flight (in no particular order). */
    Iterable<PendingCall> all() {
        return byId.values();
    }
}
