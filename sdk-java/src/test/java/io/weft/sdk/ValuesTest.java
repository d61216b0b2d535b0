package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Value;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ValuesTest {
  enum Color {
    RED
  }

  private static Value num(double d) {
    return Value.newBuilder().setNumberValue(d).build();
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  @Test
  void shouldConvertScalarsWhenJsonShaped() {
    assertEquals(NullValue.NULL_VALUE, Values.toValue(null).getNullValue());
    assertEquals(true, Values.toValue(true).getBoolValue());
    assertEquals(num(200), Values.toValue(200));
    assertEquals(num(7), Values.toValue(7L));
    assertEquals(num(1.5), Values.toValue(1.5f));
    assertEquals(num(3), Values.toValue(new AtomicLong(3)));
    assertEquals(num(0.25), Values.toValue(new BigDecimal("0.25")));
    assertEquals(str("x"), Values.toValue("x"));
    assertEquals(str("sb"), Values.toValue(new StringBuilder("sb")));
    assertEquals(str("c"), Values.toValue('c'));
    assertEquals(str("RED"), Values.toValue(Color.RED));
  }

  @Test
  void shouldConvertContainersWhenNested() {
    Map<String, Object> inner = new LinkedHashMap<>();
    inner.put("list", List.of(1, "two", Map.of("k", false)));
    inner.put("array", new int[] {4, 5});
    inner.put("objects", new Object[] {null, 'z'});
    Value v = Values.toValue(Map.of("inner", inner));

    Value got = v.getStructValue().getFieldsOrThrow("inner");
    ListValue list = got.getStructValue().getFieldsOrThrow("list").getListValue();
    assertEquals(num(1), list.getValues(0));
    assertEquals(str("two"), list.getValues(1));
    assertEquals(false, list.getValues(2).getStructValue().getFieldsOrThrow("k").getBoolValue());
    ListValue array = got.getStructValue().getFieldsOrThrow("array").getListValue();
    assertEquals(List.of(num(4), num(5)), array.getValuesList());
    ListValue objects = got.getStructValue().getFieldsOrThrow("objects").getListValue();
    assertEquals(List.of(Values.NULL, str("z")), objects.getValuesList());
  }

  @Test
  void shouldPassProtobufValuesThroughWhenAlreadyJson() {
    Value v = str("as is");
    assertSame(v, Values.toValue(v));
  }

  @Test
  void shouldRefuseNumberWhenNotFinite() {
    for (Object bad : List.of(Double.NaN, Double.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
        new BigDecimal("1e400"))) {
      WeftException e = assertThrows(WeftException.class, () -> Values.toValue(bad));
      assertEquals("NOT_JSON", e.reason());
    }
  }

  @Test
  void shouldRefuseValueWhenTypeIsNotJson() {
    WeftException e = assertThrows(WeftException.class, () -> Values.toValue(Instant.EPOCH));
    assertEquals("NOT_JSON", e.reason());
    assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, e.status().getCode());
  }

  @Test
  void shouldRefuseMapWhenKeyIsNotString() {
    WeftException e = assertThrows(WeftException.class, () -> Values.toValue(Map.of(1, "x")));
    assertEquals("NOT_JSON", e.reason());
  }

  @Test
  void shouldRefuseValueWhenNestedTooDeepOrCyclic() {
    Map<String, Object> cyclic = new HashMap<>();
    cyclic.put("self", cyclic);
    assertEquals("TOO_DEEP", assertThrows(WeftException.class, () -> Values.toValue(cyclic)).reason());

    List<Object> deep = new ArrayList<>();
    List<Object> at = deep;
    for (int i = 1; i < Values.MAX_DEPTH; i++) {
      List<Object> next = new ArrayList<>();
      at.add(next);
      at = next;
    }
    Values.toValue(deep); // exactly MAX_DEPTH containers: accepted
    at.add(new ArrayList<>());
    assertEquals("TOO_DEEP", assertThrows(WeftException.class, () -> Values.toValue(deep)).reason());
  }

  @Test
  void shouldRenderTextWhenUsedInLogMessages() {
    assertEquals("200", Values.toText(num(200)));
    assertEquals("1.5", Values.toText(num(1.5)));
    assertEquals("1.0E20", Values.toText(num(1e20)));
    assertEquals("hi", Values.toText(str("hi")));
    assertEquals("true", Values.toText(Values.toValue(true)));
    assertEquals("null", Values.toText(Values.NULL));
    assertEquals("{\"a\":[1.0,\"b\"]}", Values.toText(Values.toValue(Map.of("a", List.of(1, "b")))));
  }
}
