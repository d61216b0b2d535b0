package io.weft.daemon.core;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import java.util.Map;

/** Builders of test events. */
final class Events {
    private Events() {}

    static ContextEvent.Builder event(String id, EventKind kind, long seq) {
        return ContextEvent.newBuilder()
                .setId(id)
                .setRoutingKey("app.request")
                .setKind(kind)
                .setSeq(seq)
                .setTimeUnixNanos(1_000_000_000L * seq);
    }

    static ContextEvent born(String id, Map<String, Object> fields) {
        return event(id, EventKind.EVENT_KIND_BORN, 1).setFields(struct(fields)).build();
    }

    static ContextEvent update(String id, long seq, Map<String, Object> fields) {
        return event(id, EventKind.EVENT_KIND_UPDATE, seq).setFields(struct(fields)).build();
    }

    static ContextEvent finished(String id, long seq) {
        return event(id, EventKind.EVENT_KIND_FINISHED, seq).build();
    }

    static Struct struct(Map<String, Object> fields) {
        Struct.Builder b = Struct.newBuilder();
        fields.forEach((k, v) -> b.putFields(k, value(v)));
        return b.build();
    }

    static Value value(Object v) {
        if (v instanceof Number n) {
            return Value.newBuilder().setNumberValue(n.doubleValue()).build();
        }
        if (v instanceof Boolean b) {
            return Value.newBuilder().setBoolValue(b).build();
        }
        return Value.newBuilder().setStringValue(String.valueOf(v)).build();
    }
}
