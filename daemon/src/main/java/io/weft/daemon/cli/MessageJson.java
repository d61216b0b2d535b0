package io.weft.daemon.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import io.weft.daemon.json.StructJson;
import java.math.BigDecimal;
import java.util.Map;

/**
 * The JSON shapes {@code weft mon} prints messages in.
 *
 * <p><b>Default</b>: the message body as the {@code contexture} wire format has it
 * ({@code {"obj_id":...,"status":"born","obj":{...},...}}, DESIGN §6); read from the daemon, the
 * bus-only fields ({@code time_out}, {@code qtime}, {@code qlen}, {@code handler_id}, {@code host})
 * are absent.
 *
 * <p><b>Verbose</b> ({@code -v}): {@code {"routing_key":"...","headers":{...},"object":{<body>}}},
 * one per line; {@code weft mon -s} reads it back (with {@code -c} to collate).
 */
final class MessageJson {

    private MessageJson() {
    }

    /** The body of an event, as the contexture format writes it (without the bus-only fields). */
    static Struct body(ContextEvent e) {
        Struct.Builder b = Struct.newBuilder().putFields("obj_id", text(e.getId()));
        switch (e.getKind()) {
            case EVENT_KIND_BORN -> b.putFields("status", text("born"));
            case EVENT_KIND_FINISHED -> b.putFields("status", text("finished"));
            case EVENT_KIND_TRANSIENT -> b.putFields("status", text("transient"));
            default -> { }
        }
        if (e.getKind() == EventKind.EVENT_KIND_DELETE) {
            Struct.Builder deleted = Struct.newBuilder();
            e.getDeletedList().forEach(k -> deleted.putFields(k, Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build()));
            b.putFields("obj", Value.newBuilder().setStructValue(deleted).build()).putFields("action", text("delete"));
        } else {
            b.putFields("obj", Value.newBuilder().setStructValue(e.getFields()).build());
        }
        if (e.getKind() == EventKind.EVENT_KIND_LOG) {
            b.putFields("message", text(e.getMessage()));
        }
        b.putFields("time_in", number(BigDecimal.valueOf(e.getTimeUnixNanos(), 9).doubleValue()));
        b.putFields("seq", number(e.getSeq()));
        return b.build();
    }

    /** The verbose envelope: routing key, headers and the body under {@code object}. */
    static Struct envelope(String routingKey, Map<String, String> headers, Struct body) {
        Struct.Builder h = Struct.newBuilder();
        headers.forEach((k, v) -> h.putFields(k, text(v)));
        return Struct.newBuilder()
                .putFields("routing_key", text(routingKey))
                .putFields("headers", Value.newBuilder().setStructValue(h).build())
                .putFields("object", Value.newBuilder().setStructValue(body).build())
                .build();
    }

    /**
     * Reads one saved line: a verbose envelope, or a bare body (whose routing key is then empty).
     *
     * @throws IllegalArgumentException when the line is not a JSON object with an {@code obj_id}
     */
    static Saved parse(String line) {
        JsonObject o;
        try {
            JsonElement e = JsonParser.parseString(line);
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException("not a JSON object");
            }
            o = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
        if (o.has("object") && o.get("object").isJsonObject()) {
            Map<String, String> headers = new java.util.HashMap<>();
            if (o.has("headers") && o.get("headers").isJsonObject()) {
                o.getAsJsonObject("headers").entrySet().forEach(h -> headers.put(h.getKey(), h.getValue().getAsString()));
            }
            String rk = o.has("routing_key") ? o.get("routing_key").getAsString() : "";
            return new Saved(rk, headers, o.getAsJsonObject("object").toString());
        }
        return new Saved("", Map.of(), line);
    }

    /** A saved message: its routing key, headers and body text. */
    record Saved(String routingKey, Map<String, String> headers, String body) {}

    /** A JSON body as a struct, for projection and printing. */
    static Struct struct(String json) {
        return StructJson.toStruct(JsonParser.parseString(json).getAsJsonObject());
    }

    private static Value text(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    private static Value number(double d) {
        return Value.newBuilder().setNumberValue(d).build();
    }
}
