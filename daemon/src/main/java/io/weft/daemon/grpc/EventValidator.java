package io.weft.daemon.grpc;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ErrorReason;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Checks one event against DESIGN §5 before it is queued, on the gRPC thread that received it, so
 * that the broker only ever sees valid events.
 */
public final class EventValidator {

    private final EventLimits limits;

    /** @param limits the configured limits */
    public EventValidator(EventLimits limits) {
        this.limits = limits;
    }

    /**
     * @param index the event's place in its request: a violation names it {@code events[index]...}
     * @return the first thing wrong with the event, or null when it is valid
     */
    public Violation check(ContextEvent e, int index) {
        Violation v = check(e);
        // The path is only built for a violation: valid events (nearly all) cost no string work.
        return v == null ? null : new Violation(v.reason(), "events[" + index + "]" + v.field(), v.description());
    }

    /** The first thing wrong with the event, its field named relative to the event (".id"), or null. */
    private Violation check(ContextEvent e) {
        int size = e.getSerializedSize();
        if (size > limits.eventBytes()) {
            return new Violation(ErrorReason.ERROR_REASON_EVENT_TOO_LARGE, "",
                    "event is " + size + " bytes; the limit is " + limits.eventBytes());
        }
        String idProblem = checkId(e.getId());
        if (idProblem != null) {
            return new Violation(ErrorReason.ERROR_REASON_INVALID_ID, ".id", idProblem);
        }
        String rkProblem = checkRoutingKey(e.getRoutingKey());
        if (rkProblem != null) {
            return new Violation(ErrorReason.ERROR_REASON_INVALID_ROUTING_KEY, ".routing_key", rkProblem);
        }
        switch (e.getKind()) {
            case EVENT_KIND_BORN, EVENT_KIND_UPDATE, EVENT_KIND_LOG, EVENT_KIND_DELETE,
                    EVENT_KIND_FINISHED, EVENT_KIND_TRANSIENT -> { }
            default -> {
                return new Violation(ErrorReason.ERROR_REASON_INVALID_KIND, ".kind",
                        "kind must be one of BORN, UPDATE, LOG, DELETE, FINISHED, TRANSIENT; got "
                                + e.getKindValue());
            }
        }
        if (e.getHeadersCount() > limits.headers()) {
            return new Violation(ErrorReason.ERROR_REASON_TOO_MANY_HEADERS, ".headers",
                    e.getHeadersCount() + " headers; the limit is " + limits.headers());
        }
        for (Map.Entry<String, String> h : e.getHeadersMap().entrySet()) {
            String problem = checkHeader(h.getKey(), h.getValue());
            if (problem != null) {
                return new Violation(ErrorReason.ERROR_REASON_INVALID_HEADER,
                        ".headers[" + h.getKey() + "]", problem);
            }
        }
        Struct fields = e.getFields();
        if (fields.getFieldsCount() > limits.fields()) {
            return new Violation(ErrorReason.ERROR_REASON_TOO_MANY_FIELDS, ".fields",
                    fields.getFieldsCount() + " fields; the limit is " + limits.fields());
        }
        if (e.getDeletedCount() > limits.fields()) {
            return new Violation(ErrorReason.ERROR_REASON_TOO_MANY_FIELDS, ".deleted",
                    e.getDeletedCount() + " deleted names; the limit is " + limits.fields());
        }
        return checkStruct(fields, ".fields", 1);
    }

    /**
     * Checks one JSON value (call arguments and results): no NaN or Infinity, no value without a
     * kind inside it, nested at most {@code limits.depth} levels. An unset top-level value is JSON null.
     */
    public Violation checkJson(Value v, String path) {
        return switch (v.getKindCase()) {
            case KIND_NOT_SET -> null;
            case STRUCT_VALUE -> checkStruct(v.getStructValue(), path, 1);
            case LIST_VALUE -> checkList(v.getListValue(), path, 1);
            default -> checkValue(v, path, null, 0);
        };
    }

    private Violation checkStruct(Struct s, String path, int depth) {
        if (depth > limits.depth()) {
            return tooDeep(path);
        }
        for (Map.Entry<String, Value> f : s.getFieldsMap().entrySet()) {
            Violation v = checkValue(f.getValue(), path, f.getKey(), depth);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    private Violation checkList(ListValue l, String path, int depth) {
        if (depth > limits.depth()) {
            return tooDeep(path);
        }
        for (int i = 0; i < l.getValuesCount(); i++) {
            Violation v = checkValue(l.getValues(i), path, i, depth);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    private Violation checkValue(Value v, String parent, Object key, int depth) {
        switch (v.getKindCase()) {
            case NUMBER_VALUE -> {
                double d = v.getNumberValue();
                if (Double.isNaN(d) || Double.isInfinite(d)) {
                    return new Violation(ErrorReason.ERROR_REASON_NOT_JSON, child(parent, key),
                            d + " is not a JSON number");
                }
                return null;
            }
            case STRUCT_VALUE -> {
                return checkStruct(v.getStructValue(), child(parent, key), depth + 1);
            }
            case LIST_VALUE -> {
                return checkList(v.getListValue(), child(parent, key), depth + 1);
            }
            case KIND_NOT_SET -> {
                return new Violation(ErrorReason.ERROR_REASON_NOT_JSON, child(parent, key),
                        "value has no kind set (use null_value for JSON null)");
            }
            default -> {
                return null;
            }
        }
    }

    private Violation tooDeep(String path) {
        return new Violation(ErrorReason.ERROR_REASON_TOO_DEEP, path,
                "values are nested deeper than " + limits.depth() + " levels");
    }

    private static String child(String parent, Object key) {
        if (key == null) {
            return parent;
        }
        return key instanceof Integer ? parent + "[" + key + "]" : parent + "." + key;
    }

    /** @return what is wrong with an object id, or null */
    public static String checkId(String id) {
        int n = id.length();
        if (n == 0) {
            return "id is empty";
        }
        int bytes = 0;
        for (int i = 0; i < n; i++) {
            char c = id.charAt(i);
            if (c < 0x80) {
                if (c < 0x20 || c == 0x7f) {
                    return "id contains a control character";
                }
                bytes++;
            } else {
                if (c <= 0x9f) {
                    return "id contains a control character";
                }
                bytes += c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
            }
        }
        return bytes > EventLimits.ID_BYTES ? "id is longer than " + EventLimits.ID_BYTES + " bytes" : null;
    }

    /** @return what is wrong with a routing key, or null; one pass over the key */
    public static String checkRoutingKey(String rk) {
        int n = rk.length();
        if (n == 0) {
            return "routing key is empty";
        }
        if (n > EventLimits.ROUTING_KEY_BYTES) {
            return "routing key is longer than " + EventLimits.ROUTING_KEY_BYTES + " bytes";
        }
        int wordStart = 0;
        for (int i = 0; i <= n; i++) {
            char c = i < n ? rk.charAt(i) : '.';
            if (c == '.') {
                if (i == wordStart) {
                    return "routing key '" + rk + "' has an empty word at position " + i;
                }
                wordStart = i + 1;
            } else if (!isWordChar(c)) {
                return "routing key '" + rk + "' has '" + c + "' at position " + i
                        + "; words are [A-Za-z0-9_-] separated by dots";
            }
        }
        return null;
    }

    private static String checkHeader(String name, String value) {
        if (name.isEmpty()) {
            return "header name is empty";
        }
        if (utf8Length(name) > EventLimits.HEADER_NAME_BYTES || hasControl(name)) {
            return "header name is longer than " + EventLimits.HEADER_NAME_BYTES
                    + " bytes or contains a control character";
        }
        if (utf8Length(value) > EventLimits.HEADER_VALUE_BYTES || hasControl(value)) {
            return "header value is longer than " + EventLimits.HEADER_VALUE_BYTES
                    + " bytes or contains a control character";
        }
        return null;
    }

    private static boolean isWordChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }

    private static boolean hasControl(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    private static int utf8Length(String s) {
        int n = s.length();
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return s.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        return n;
    }
}
