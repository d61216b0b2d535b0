package io.weft.daemon.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonWriter;
import com.google.protobuf.Struct;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ObjectState;
import io.weft.daemon.json.StructJson;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON shapes {@code weft} prints collated objects in, and reading the verbose one back.
 *
 * <p><b>Default</b> (Contexture's collated output): the object's fields, e.g.
 * {@code {"url":"http://foo.com","status_code":200}}.
 *
 * <p><b>Verbose</b> ({@code -v}): an envelope with the fields under {@code obj}; every key is
 * always present, in this order:
 * <pre>
 * {"id":"c529...","rkey":"web.request","daemon":"h1","headers":{"env":"prod"},
 *  "state":"finished","partial":false,"start":1763784000.123456789,"updated":1763784001.5,
 *  "end":1763784001.5,"elapsed":1.376543211,"seq":7,"events":7,"message":null,"obj":{...}}
 * </pre>
 * {@code state} is {@code live}, {@code finished}, {@code transient} or {@code expired};
 * times are seconds since the epoch with up to nine decimals (exactly the daemon's
 * nanoseconds); {@code end} is null while live; {@code message} is the last LOG message or
 * null. Written one per line without {@code -p}, it reads back with {@link #parseVerbose}.
 *
 * <p>Numbers in fields that are whole print without a fraction ({@code 1}, not {@code 1.0}),
 * as the application wrote them.
 */
public final class ObjectJson {

    private static final String STATE_PREFIX = "OBJECT_STATE_";

    private ObjectJson() {
    }

    /**
     * Renders an object: its fields, or with {@code verbose} the envelope.
     *
     * @param object the object
     * @param verbose print the envelope
     * @param pretty indent over several lines instead of one line
     * @return the JSON text, without a trailing newline
     */
    public static String render(ContextObject object, boolean verbose, boolean pretty) {
        return write(pretty, w -> {
            if (verbose) {
                envelope(w, object);
            } else {
                StructJson.write(w, object.getFields());
            }
        });
    }

    /**
     * Renders fields as a JSON object.
     *
     * @param fields the fields
     * @param pretty indent over several lines instead of one line
     * @return the JSON text, without a trailing newline
     */
    public static String render(Struct fields, boolean pretty) {
        return write(pretty, w -> StructJson.write(w, fields));
    }

    /**
     * Reads back one verbose line. Unknown keys are ignored, missing ones left at their
     * defaults.
     *
     * @param json one object in the verbose shape
     * @return the object
     * @throws IllegalArgumentException when the text is not JSON or not in that shape
     */
    public static ContextObject parseVerbose(String json) {
        try {
            JsonElement root = JsonParser.parseString(json);
            if (!root.isJsonObject()) {
                throw new IllegalArgumentException("not a weft -v object: expected a JSON object");
            }
            JsonObject o = root.getAsJsonObject();
            ContextObject.Builder b = ContextObject.newBuilder()
                    .setId(string(o, "id"))
                    .setRoutingKey(string(o, "rkey"))
                    .setDaemonId(string(o, "daemon"))
                    .setLastMessage(string(o, "message"))
                    .setPartial(o.has("partial") && o.get("partial").getAsBoolean())
                    .setStartUnixNanos(nanos(o, "start"))
                    .setUpdatedUnixNanos(nanos(o, "updated"))
                    .setEndUnixNanos(nanos(o, "end"))
                    .setElapsedSeconds(present(o, "elapsed") ? o.get("elapsed").getAsDouble() : 0)
                    .setLastSeq(present(o, "seq") ? o.get("seq").getAsBigInteger().longValue() : 0)
                    .setEventCount(present(o, "events") ? o.get("events").getAsBigInteger().longValue() : 0);
            if (present(o, "state")) {
                b.setState(ObjectState.valueOf(STATE_PREFIX + o.get("state").getAsString().toUpperCase(Locale.ROOT)));
            }
            if (present(o, "headers")) {
                for (Map.Entry<String, JsonElement> h : o.getAsJsonObject("headers").entrySet()) {
                    b.putHeaders(h.getKey(), h.getValue().getAsString());
                }
            }
            if (present(o, "obj")) {
                b.setFields(StructJson.toValue(o.get("obj")).getStructValue());
            }
            return b.build();
        } catch (JsonParseException | IllegalStateException | ClassCastException | UnsupportedOperationException
                | NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a weft -v object: " + e.getMessage(), e);
        }
    }

    private static void envelope(JsonWriter w, ContextObject o) throws IOException {
        w.beginObject();
        w.name("id").value(o.getId());
        w.name("rkey").value(o.getRoutingKey());
        w.name("daemon").value(o.getDaemonId());
        w.name("headers").beginObject();
        for (Map.Entry<String, String> h : o.getHeadersMap().entrySet()) {
            w.name(h.getKey()).value(h.getValue());
        }
        w.endObject();
        w.name("state").value(stateName(o.getState()));
        w.name("partial").value(o.getPartial());
        w.name("start");
        time(w, o.getStartUnixNanos());
        w.name("updated");
        time(w, o.getUpdatedUnixNanos());
        w.name("end");
        time(w, o.getEndUnixNanos());
        w.name("elapsed");
        StructJson.number(w, o.getElapsedSeconds());
        w.name("seq").jsonValue(Long.toUnsignedString(o.getLastSeq()));
        w.name("events").jsonValue(Long.toUnsignedString(o.getEventCount()));
        w.name("message");
        if (o.getLastMessage().isEmpty()) {
            w.nullValue();
        } else {
            w.value(o.getLastMessage());
        }
        w.name("obj");
        StructJson.write(w, o.getFields());
        w.endObject();
    }

    private static String stateName(ObjectState s) {
        return s == ObjectState.UNRECOGNIZED ? "unknown"
                : s.name().substring(STATE_PREFIX.length()).toLowerCase(Locale.ROOT);
    }

    /** Epoch nanoseconds as exact decimal seconds; 0 (unset) as null. */
    private static void time(JsonWriter w, long unixNanos) throws IOException {
        if (unixNanos == 0) {
            w.nullValue();
        } else {
            w.jsonValue(BigDecimal.valueOf(unixNanos, 9).stripTrailingZeros().toPlainString());
        }
    }

    private static long nanos(JsonObject o, String key) {
        if (!present(o, key)) {
            return 0;
        }
        return o.get(key).getAsBigDecimal().movePointRight(9).setScale(0, RoundingMode.HALF_EVEN).longValueExact();
    }

    private static boolean present(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull();
    }

    private static String string(JsonObject o, String key) {
        return present(o, key) ? o.get(key).getAsString() : "";
    }

    private static String write(boolean pretty, JsonBody body) {
        StringWriter out = new StringWriter();
        try (JsonWriter w = new JsonWriter(out)) {
            if (pretty) {
                w.setIndent("  ");
            }
            body.write(w);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    @FunctionalInterface
    private interface JsonBody {
        void write(JsonWriter w) throws IOException;
    }
}
