package io.weft.conformance;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The runner protocol's JSON lines as plain Java values (Map, List, Double, String, Boolean, null). */
final class Json {
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();

  private Json() {}

  /** Parses one JSON object. */
  static Map<String, Object> parseObject(String line) throws InvalidProtocolBufferException {
    Struct.Builder b = Struct.newBuilder();
    JsonFormat.parser().merge(line, b);
    return fromStruct(b.build());
  }

  static String print(Object value) {
    try {
      return PRINTER.print(toValue(value));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("not printable as JSON: " + value, e);
    }
  }

  static Map<String, Object> fromStruct(Struct s) {
    Map<String, Object> out = new LinkedHashMap<>();
    s.getFieldsMap().forEach((k, v) -> out.put(k, fromValue(v)));
    return out;
  }

  static Object fromValue(Value v) {
    return switch (v.getKindCase()) {
      case NULL_VALUE, KIND_NOT_SET -> null;
      case NUMBER_VALUE -> v.getNumberValue();
      case STRING_VALUE -> v.getStringValue();
      case BOOL_VALUE -> v.getBoolValue();
      case STRUCT_VALUE -> fromStruct(v.getStructValue());
      case LIST_VALUE -> {
        List<Object> out = new ArrayList<>();
        v.getListValue().getValuesList().forEach(x -> out.add(fromValue(x)));
        yield out;
      }
    };
  }

  static Value toValue(Object o) {
    if (o == null) {
      return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    }
    if (o instanceof Boolean b) {
      return Value.newBuilder().setBoolValue(b).build();
    }
    if (o instanceof Number n) {
      return Value.newBuilder().setNumberValue(n.doubleValue()).build();
    }
    if (o instanceof String s) {
      return Value.newBuilder().setStringValue(s).build();
    }
    if (o instanceof Map<?, ?> m) {
      Struct.Builder b = Struct.newBuilder();
      m.forEach((k, v) -> b.putFields(String.valueOf(k), toValue(v)));
      return Value.newBuilder().setStructValue(b).build();
    }
    if (o instanceof Iterable<?> it) {
      ListValue.Builder b = ListValue.newBuilder();
      it.forEach(x -> b.addValues(toValue(x)));
      return Value.newBuilder().setListValue(b).build();
    }
    return Value.newBuilder().setStringValue(String.valueOf(o)).build();
  }
}
