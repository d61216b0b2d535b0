package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DaemonAddressTest {
  private static final Path USER = Path.of("/run/user/1000/weft/weftd.sock");

  private static String resolve(Map<String, String> env, Set<Path> existing) {
    return DaemonAddress.resolve(env, existing::contains).target();
  }

  @Test
  void shouldUseWeftAddrWhenSet() {
    assertEquals("unix:///tmp/w.sock",
        resolve(Map.of("WEFT_ADDR", "unix:///tmp/w.sock", "XDG_RUNTIME_DIR", "/run/user/1000"),
            Set.of(USER, DaemonAddress.SYSTEM_SOCKET)));
    assertEquals("10.0.0.1:9000", resolve(Map.of("WEFT_ADDR", " 10.0.0.1:9000 "), Set.of()));
  }

  @Test
  void shouldPreferUserSocketWhenItExists() {
    Map<String, String> env = Map.of("XDG_RUNTIME_DIR", "/run/user/1000");
    assertEquals("unix://" + USER, resolve(env, Set.of(USER, DaemonAddress.SYSTEM_SOCKET)));
  }

  @Test
  void shouldFallBackToSystemSocketThenTcpWhenSocketsAreMissing() {
    Map<String, String> env = Map.of("XDG_RUNTIME_DIR", "/run/user/1000");
    assertEquals("unix:///run/weft/weftd.sock", resolve(env, Set.of(DaemonAddress.SYSTEM_SOCKET)));
    assertEquals("127.0.0.1:7311", resolve(env, Set.of()));
    assertEquals("127.0.0.1:7311", resolve(Map.of("WEFT_ADDR", ""), Set.of()));
  }

  @Test
  void shouldRefuseAddressWhenMalformed() {
    for (String bad : List.of("unix://relative", "unix:///", "localhost", "host:", ":80", "h:x",
        "h:70000")) {
      WeftException e = assertThrows(WeftException.class, () -> DaemonAddress.parse(bad), bad);
      assertEquals("INVALID_ARGUMENT", e.reason());
    }
  }

  @Test
  void shouldKnowUnixFromTcpWhenParsed() {
    assertTrue(DaemonAddress.parse("unix:///a/b.sock").isUnix());
    assertFalse(DaemonAddress.parse("[::1]:7311").isUnix());
  }
}
