package io.weft.daemon.json;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.stream.JsonWriter;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.Map;

/**
 * Protobuf's JSON-shaped values ({@link Struct}, {@link Value}) to JSON text and back, with Gson.
 * Whole numbers below 10^15 are written without a fraction ({@code 200}, not {@code 200.0}), as
 * the applications that sent them wrote them.
 */
public final class StructJson {

    private static final double LARGEST_EXACT_WHOLE = 1e15;

    private StructJson() {
    }

    /** Writes a struct as a JSON object. */
    public static void write(JsonWriter w, Struct s) throws IOException {
        w.beginObject();
        for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
            w.name(e.getKey());
            write(w, e.getValue());
        }
        w.endObject();
    }

    /** Writes a value as JSON. */
    public static void write(JsonWriter w, Value v) throws IOException {
        switch (v.getKindCase()) {
            case NUMBER_VALUE -> number(w, v.getNumberValue());
            case STRING_VALUE -> w.value(v.getStringValue());
            case BOOL_VALUE -> w.value(v.getBoolValue());
            case STRUCT_VALUE -> write(w, v.getStructValue());
            case LIST_VALUE -> {
                w.beginArray();
                for (Value item : v.getListValue().getValuesList()) {
                    write(w, item);
                }
                w.endArray();
            }
            default -> w.nullValue();
        }
    }

    /** Writes a number: whole ones without a fraction, others in plain digits, NaN and infinities (never valid here) as null. */
    public static void number(JsonWriter w, double d) throws IOException {
        if (!Double.isFinite(d)) {
            w.nullValue();
        } else if (d == Math.rint(d) && Math.abs(d) < LARGEST_EXACT_WHOLE) {
            w.value((long) d);
        } else {
            // Plain digits, never 1.7953E9: epoch seconds stay readable and grep-able.
            w.jsonValue(BigDecimal.valueOf(d).toPlainString());
        }
    }

    /** Converts parsed JSON to a value. */
    public static Value toValue(JsonElement e) {
        if (e.isJsonNull()) {
            return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        }
        if (e.isJsonObject()) {
            return Value.newBuilder().setStructValue(toStruct(e.getAsJsonObject())).build();
        }
        if (e.isJsonArray()) {
            ListValue.Builder l = ListValue.newBuilder();
            e.getAsJsonArray().forEach(item -> l.addValues(toValue(item)));
            return Value.newBuilder().setListValue(l).build();
        }
        JsonPrimitive p = e.getAsJsonPrimitive();
        if (p.isBoolean()) {
            return Value.newBuilder().setBoolValue(p.getAsBoolean()).build();
        }
        if (p.isNumber()) {
            return Value.newBuilder().setNumberValue(p.getAsDouble()).build();
        }
        return Value.newBuilder().setStringValue(p.getAsString()).build();
    }

    /** Converts a parsed JSON object to a struct. */
    public static Struct toStruct(JsonObject o) {
        Struct.Builder s = Struct.newBuilder();
        for (Map.Entry<String, JsonElement> f : o.entrySet()) {
            s.putFields(f.getKey(), toValue(f.getValue()));
        }
        return s.build();
    }
}
