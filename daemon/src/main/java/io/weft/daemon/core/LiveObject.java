package io.weft.daemon.core;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ObjectState;
import java.util.Map;

/**
 * A live object being collated. Broker-owned and mutable; {@link #snapshot} turns it into the
 * immutable proto served to views. It is also a node of the collator's least-recently-updated list.
 */
final class LiveObject {

    /** Estimated heap bytes of an object beyond its fields (this, its maps' entries, its id). */
    static final int OBJECT_OVERHEAD_BYTES = 400;

    final String id;
    /** Position in the order live objects were first seen, from 1; never reused. */
    long ordinal;
    String routingKey;
    Map<String, String> headers;
    final FieldMap fields = new FieldMap();
    boolean partial;
    long startUnixNanos;
    long updatedUnixNanos;
    long lastSeq;
    long eventCount;
    String lastMessage = "";
    long touchedNs;
    /** What the collator's live-bytes total holds for this object (see Collator#account). */
    long accountedBytes;
    LiveObject lruPrev;
    LiveObject lruNext;

    LiveObject(String id, String routingKey, Map<String, String> headers) {
        this.id = id;
        this.routingKey = routingKey;
        this.headers = headers;
    }

    /** Estimated heap bytes of this object, for the collator's memory bound. */
    long approxBytes() {
        return OBJECT_OVERHEAD_BYTES + fields.bytes();
    }

    void merge(Struct changed, Interner<String> names) {
        if (changed.getFieldsCount() == 0) {
            return;
        }
        for (Map.Entry<String, Value> e : changed.getFieldsMap().entrySet()) {
            fields.put(e.getKey(), e.getValue(), names);
        }
    }

    /** Adds fields absent from this object: a late BORN must not overwrite newer values. */
    void mergeAbsent(Struct older, Interner<String> names) {
        for (Map.Entry<String, Value> e : older.getFieldsMap().entrySet()) {
            fields.putIfAbsent(e.getKey(), e.getValue(), names);
        }
    }

    ContextObject snapshot(ObjectState state, long endUnixNanos, long nowUnixNanos, String daemonId) {
        long end = endUnixNanos != 0 ? endUnixNanos : nowUnixNanos;
        return ContextObject.newBuilder()
                .setId(id)
                .setRoutingKey(routingKey)
                .putAllHeaders(headers)
                .setFields(fields.toStruct())
                .setState(state)
                .setPartial(partial)
                .setStartUnixNanos(startUnixNanos)
                .setUpdatedUnixNanos(updatedUnixNanos)
                .setEndUnixNanos(endUnixNanos)
                .setElapsedSeconds(Math.max(0, end - startUnixNanos) / 1e9)
                .setLastSeq(lastSeq)
                .setEventCount(eventCount)
                .setLastMessage(lastMessage)
                .setDaemonId(daemonId)
                .build();
    }
}
