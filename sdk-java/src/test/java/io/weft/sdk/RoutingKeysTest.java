package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RoutingKeysTest {
  static final class Inner$Odd {
    static String key() {
      return RoutingKeys.fromCaller(Set.of());
    }
  }

  @Test
  void shouldAcceptKeyWhenWordsAreValid() {
    for (String ok : List.of("a", "app.request", "A-b_9.x", "x".repeat(255))) {
      assertEquals(ok, RoutingKeys.validate(ok));
    }
  }

  @Test
  void shouldRefuseKeyWhenMalformed() {
    for (String bad : List.of("", ".a", "a.", "a..b", "a b", "a.*", "é", "x".repeat(256))) {
      WeftException e = assertThrows(WeftException.class, () -> RoutingKeys.validate(bad), bad);
      assertEquals("INVALID_ROUTING_KEY", e.reason());
    }
    assertEquals("INVALID_ROUTING_KEY",
        assertThrows(WeftException.class, () -> RoutingKeys.validate(null)).reason());
  }

  @Test
  void shouldReplaceBadCharactersWhenDerivingFromClassName() {
    assertEquals("com.example.Outer_Inner", RoutingKeys.fromClassName("com.example.Outer$Inner"));
    assertEquals("a.b_c", RoutingKeys.fromClassName("a..b c"));
    assertEquals("app", RoutingKeys.fromClassName("..."));
  }

  @Test
  void shouldKeepWholeWordsWhenClassNameIsTooLong() {
    String key = RoutingKeys.fromClassName(("w".repeat(100) + ".").repeat(3) + "Last");
    assertEquals("w".repeat(100) + "." + "w".repeat(100), key);
    assertEquals(key, RoutingKeys.validate(key));
  }

  @Test
  void shouldUseCallingClassWhenNoRoutingKeyGiven() {
    assertEquals("io.weft.sdk.RoutingKeysTest_Inner_Odd", Inner$Odd.key());
    assertEquals("io.weft.sdk.RoutingKeysTest",
        RoutingKeys.fromCaller(Set.of(Inner$Odd.class)));
  }

  @Test
  void shouldSkipSdkFramesWhenDerivingThroughTheClient() {
    try (Weft weft = Weft.builder().address("127.0.0.1:1").build()) {
      Context ctx = weft.context().open();
      assertEquals("io.weft.sdk.RoutingKeysTest", ctx.routingKey());
      assertTrue(ctx.toString().startsWith("io.weft.sdk.RoutingKeysTest["));
    }
  }
}
