package io.weft.daemon.core;

import com.google.protobuf.InvalidProtocolBufferException;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ObjectState;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The last objects that finished, expired or were transient — at most {@code capacity} of them and
 * at most {@code maxBytes} of estimated memory — oldest evicted first, each with its sequence in
 * that order (for paging) and indexed by id. Broker-owned.
 *
 * <p>Objects are kept serialized, with the few properties that filters and replay checks read
 * beside them: one array instead of a graph of some forty objects per object (its Struct's map
 * entries, values, boxed numbers). The ring's entries outlive several young collections, so the
 * graph was copied again and again and then promoted, which made the old generation the largest
 * cost of a busy daemon. Reading an object back parses it: lookups and listings are rare next to
 * the stream of objects ending.
 */
final class FinishedRing {

    /** One finished object and its position in the order objects ended. */
    record Entry(long seq, String id, String routingKey, Map<String, String> headers, ObjectState state,
            long lastSeq, long startUnixNanos, byte[] serialized, long bytes) {

        /** The object, parsed again. */
        ContextObject object() {
            try {
                return ContextObject.parseFrom(serialized);
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("the ring holds what it serialized itself", e);
            }
        }
    }

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
     * @param headers {@code obj}'s headers as the collator shares them (for filters, unparsed)
     * @param approxBytes the object's estimated memory (see {@link LiveObject#approxBytes})
     */
    void add(ContextObject obj, Map<String, String> headers, long approxBytes) {
        while (!order.isEmpty() && (order.size() == capacity || bytes + approxBytes > maxBytes)) {
            Entry oldest = order.pollFirst();
            bytes -= oldest.bytes();
            // An id reused later maps to the newer entry; keep that one.
            byId.remove(oldest.id(), oldest);
            evicted++;
        }
        Entry e = new Entry(++nextSeq, obj.getId(), obj.getRoutingKey(), headers, obj.getState(), obj.getLastSeq(),
                obj.getStartUnixNanos(), obj.toByteArray(), approxBytes);
        order.addLast(e);
        byId.put(e.id(), e);
        bytes += approxBytes;
    }

    /** Estimated memory of the objects held. */
    long bytes() {
        return bytes;
    }

    /** The entry of the object that ended last with this id, or null. */
    Entry get(String id) {
        return byId.get(id);
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
