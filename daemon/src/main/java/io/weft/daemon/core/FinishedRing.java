package io.weft.daemon.core;

import io.weft.api.v1.ContextObject;
import java.util.ArrayDeque;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The last {@code capacity} objects that finished, expired or were transient, oldest evicted
 * first. Indexed by id for lookups and paging. Broker-owned; not thread-safe.
 */
final class FinishedRing {

    private final int capacity;
    private final ArrayDeque<ContextObject> order;
    private final TreeMap<String, ContextObject> byId = new TreeMap<>();
    long evicted;

    FinishedRing(int capacity) {
        this.capacity = capacity;
        this.order = new ArrayDeque<>(Math.min(capacity, 1 << 16));
    }

    void add(ContextObject obj) {
        if (order.size() == capacity) {
            ContextObject oldest = order.pollFirst();
            // An id reused later maps to the newer object; keep that one.
            if (byId.get(oldest.getId()) == oldest) {
                byId.remove(oldest.getId());
            }
            evicted++;
        }
        order.addLast(obj);
        byId.put(obj.getId(), obj);
    }

    ContextObject get(String id) {
        return byId.get(id);
    }

    NavigableMap<String, ContextObject> after(String afterId) {
        return afterId == null ? byId : byId.tailMap(afterId, false);
    }

    int size() {
        return order.size();
    }

    int capacity() {
        return capacity;
    }
}
