package io.weft.sdk;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.weft.api.v1.ErrorReason;
import java.lang.reflect.Array;
import java.util.Map;

/**
 * Java values to JSON-shaped {@link Value}s, and {@link Value}s to text for log templates.
 *
 * <p>Accepted: {@code null}, {@link Boolean}, {@link Number} (finite; every number becomes a
 * double, so integers beyond 2^53 lose precision), {@link CharSequence}, {@link Character},
 * {@link Enum} (its name), {@link Map} with {@link CharSequence} keys, {@link Iterable},
 * arrays, a {@link Context} (its id: contexts link), and protobuf {@link Value} /
 * {@link Struct} / {@link ListValue} as they are. Anything else is refused with reason
 * {@code NOT_JSON}; nesting deeper than {@value #MAX_DEPTH} (which includes cycles) with
 * {@code TOO_DEEP}.
 */
final class Values {
  /** weftd's default nesting limit; also what stops a cyclic map from overflowing the stack. */
  static final int MAX_DEPTH = 64;

  static final Value NULL = Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
  private static final Value TRUE = Value.newBuilder().setBoolValue(true).build();
  private static final Value FALSE = Value.newBuilder().setBoolValue(false).build();
  private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace();

  private Values() {}

  /** Converts one field value. Throws {@link WeftException} (NOT_JSON, TOO_DEEP). */
  static Value toValue(Object o) {
    return toValue(o, 0);
  }

  /**
   * Converts a JSON value back to plain Java: null, {@link Boolean}, {@link String}, {@link Long}
   * for integral numbers within ±2^53 (else {@link Double}), {@code Map<String, Object>} (in order)
   * and {@code List<Object>}.
   */
  static Object fromValue(Value v) {
    switch (v.getKindCase()) {
      case BOOL_VALUE:
        return v.getBoolValue();
      case STRING_VALUE:
        return v.getStringValue();
      case NUMBER_VALUE: {
        double d = v.getNumberValue();
        if (d == Math.rint(d) && Math.abs(d) <= 9_007_199_254_740_992.0) {
          return (long) d;
        }
        return d;
      }
      case STRUCT_VALUE: {
        java.util.LinkedHashMap<String, Object> m = new java.util.LinkedHashMap<>();
        v.getStructValue().getFieldsMap().forEach((k, x) -> m.put(k, fromValue(x)));
        return m;
      }
      case LIST_VALUE: {
        java.util.ArrayList<Object> l = new java.util.ArrayList<>(v.getListValue().getValuesCount());
        for (Value x : v.getListValue().getValuesList()) {
          l.add(fromValue(x));
        }
        return l;
      }
      default:
        return null;
    }
  }

  static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value toValue(Object o, int depth) {
    if (o == null) {
      return NULL;
    }
    if (o instanceof String s) {
      return string(s);
    }
    if (o instanceof Boolean b) {
      return b ? TRUE : FALSE;
    }
    if (o instanceof Number n) {
      return Value.newBuilder().setNumberValue(number(n)).build();
    }
    if (o instanceof Context c) {
      return string(c.id());
    }
    if (o instanceof CharSequence || o instanceof Character) {
      return string(o.toString());
    }
    if (o instanceof Enum<?> e) {
      return string(e.name());
    }
    if (o instanceof Value v) {
      return v;
    }
    if (depth >= MAX_DEPTH) {
      throw WeftException.invalid(
          ErrorReason.ERROR_REASON_TOO_DEEP, "value nested deeper than " + MAX_DEPTH + " (a cycle?)");
    }
    if (o instanceof Map<?, ?> m) {
      return Value.newBuilder().setStructValue(struct(m, depth + 1)).build();
    }
    if (o instanceof Iterable<?> it) {
      ListValue.Builder list = ListValue.newBuilder();
      for (Object item : it) {
        list.addValues(toValue(item, depth + 1));
      }
      return Value.newBuilder().setListValue(list).build();
    }
    if (o.getClass().isArray()) {
      ListValue.Builder list = ListValue.newBuilder();
      for (int i = 0, n = Array.getLength(o); i < n; i++) {
        list.addValues(toValue(Array.get(o, i), depth + 1));
      }
      return Value.newBuilder().setListValue(list).build();
    }
    if (o instanceof Struct s) {
      return Value.newBuilder().setStructValue(s).build();
    }
    if (o instanceof ListValue l) {
      return Value.newBuilder().setListValue(l).build();
    }
    throw WeftException.invalid(
        ErrorReason.ERROR_REASON_NOT_JSON, "not a JSON value: " + o.getClass().getName());
  }

  private static Struct struct(Map<?, ?> map, int depth) {
    Struct.Builder struct = Struct.newBuilder();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getKey() instanceof CharSequence key)) {
        throw WeftException.invalid(
            ErrorReason.ERROR_REASON_NOT_JSON,
            "map key is not a string: " + (e.getKey() == null ? "null" : e.getKey().getClass().getName()));
      }
      struct.putFields(key.toString(), toValue(e.getValue(), depth));
    }
    return struct.build();
  }

  private static double number(Number n) {
    if (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte) {
      return n.longValue();
    }
    double d = n.doubleValue(); // a BigDecimal beyond double's range becomes infinite
    if (!Double.isFinite(d)) {
      throw WeftException.invalid(ErrorReason.ERROR_REASON_NOT_JSON, "not a JSON number: " + n);
    }
    return d;
  }

  /**
   * How a value reads inside a log message: strings as they are, integral numbers without
   * a fraction ({@code 200}, not {@code 200.0}), objects and lists as compact JSON.
   */
  static String toText(Value v) {
    switch (v.getKindCase()) {
      case STRING_VALUE:
        return v.getStringValue();
      case NUMBER_VALUE:
        double d = v.getNumberValue();
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
          return Long.toString((long) d);
        }
        return Double.toString(d);
      case BOOL_VALUE:
        return Boolean.toString(v.getBoolValue());
      case STRUCT_VALUE:
      case LIST_VALUE:
        try {
          return JSON.print(v);
        } catch (InvalidProtocolBufferException e) {
          return v.toString(); // unreachable for values built by toValue; keeps logging total
        }
      default:
        return "null";
    }
  }
}
