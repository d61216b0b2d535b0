package io.weft.daemon.core;

import io.weft.api.v1.ContextObject;
import java.util.ArrayDeque;
import java.util.HashMap;

/**
 * The last {@code capacity} objects that finished, expired or were transient, oldest evicted
 * first, each with its sequence in that order (for paging) and indexed by id. Broker-owned.
 */
final class FinishedRing {

    /** One finished object and its position in the order objects ended. */
    record Entry(long seq, ContextObject object) {}

    private final int capacity;
    private final ArrayDeque<Entry> order;
    private final HashMap<String, Entry> byId;
    private long nextSeq;
    long evicted;

    FinishedRing(int capacity) {
        this.capacity = capacity;
        this.order = new ArrayDeque<>(Math.min(capacity, 1 << 16));
        this.byId = new HashMap<>(Math.min(capacity, 1 << 16) * 2);
    }

    void add(ContextObject obj) {
        if (order.size() == capacity) {
            Entry oldest = order.pollFirst();
            // An id reused later maps to the newer entry; keep that one.
            byId.remove(oldest.object().getId(), oldest);
            evicted++;
        }
        Entry e = new Entry(++nextSeq, obj);
        order.addLast(e);
        byId.put(obj.getId(), e);
    }

    ContextObject get(String id) {
        Entry e = byId.get(id);
        return e == null ? null : e.object();
    }

    /** Oldest first. */
    Iterable<Entry> inOrder() {
        return order;
    }

    int size() {
        return order.size();
    }

    int capacity() {
        return capacity;
    }
}
