package io.weft.daemon.core;

import io.weft.api.v1.ContextObject;
import java.util.ArrayDeque;
import java.util.HashMap;

/**
 * The last objects that finished, expired or were transient — at most {@code capacity} of them and
 * at most {@code maxBytes} of estimated memory — oldest evicted first, each with its sequence in
 * that order (for paging) and indexed by id. Broker-owned.
 */
final class FinishedRing {

    /** One finished object and its position in the order objects ended. */
    record Entry(long seq, ContextObject object, long bytes) {}

    private final int capacity;
    private final long maxBytes;
    private long bytes;
    private final ArrayDeque<Entry> order;
    private final HashMap<String, Entry> byId;
    private long nextSeq;
    long evicted;

    FinishedRing(int capacity, long maxBytes) {
        this.capacity = capacity;
        this.maxBytes = maxBytes;
        this.order = new ArrayDeque<>(Math.min(capacity, 1 << 16));
        this.byId = new HashMap<>(Math.min(capacity, 1 << 16) * 2);
    }

    /**
     * @param approxBytes the object's estimated memory (see {@link LiveObject#approxBytes})
     */
    void add(ContextObject obj, long approxBytes) {
        while (!order.isEmpty() && (order.size() == capacity || bytes + approxBytes > maxBytes)) {
            Entry oldest = order.pollFirst();
            bytes -= oldest.bytes();
            // An id reused later maps to the newer entry; keep that one.
            byId.remove(oldest.object().getId(), oldest);
            evicted++;
        }
        Entry e = new Entry(++nextSeq, obj, approxBytes);
        order.addLast(e);
        byId.put(obj.getId(), e);
        bytes += approxBytes;
    }

    /** Estimated memory of the objects held. */
    long bytes() {
        return bytes;
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
