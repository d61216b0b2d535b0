package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WeftBuilderTest {
  @Test
  void shouldRefuseClientIdWhenWeftdWouldEndTheStream() {
    for (String bad : new String[] {"", "x".repeat(129), "a\tb"}) {
      WeftException e = assertThrows(WeftException.class, () -> Weft.builder().clientId(bad));
      assertEquals("INVALID_ARGUMENT", e.reason());
    }
  }

  @Test
  void shouldRefuseAddressWhenMalformed() {
    WeftException e = assertThrows(WeftException.class,
        () -> Weft.builder().address("no-port").build());
    assertEquals("INVALID_ARGUMENT", e.reason());
  }

  @Test
  void shouldPublishAndCloseWithoutThrowingWhenNoDaemonListens() {
    try (Weft weft = Weft.builder().address("unix:///nonexistent/weftd.sock")
        .waitOnClose(Duration.ofMillis(50)).build()) {
      assertEquals("unix:///nonexistent/weftd.sock", weft.address());
      assertTrue(weft.clientId().startsWith("java-"));
      try (Context ctx = weft.context("app.absent").open()) {
        ctx.set("x", 1).log(Level.ERROR, "x={x}");
      }
      weft.push("app.absent", Map.of());
      assertFalse(weft.flush(Duration.ofMillis(50)));
      assertEquals(5, weft.pending());
    }
  }
}
