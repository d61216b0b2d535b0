package io.weft.daemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DaemonAddressTest {

    @TempDir
    Path dir;

    @Test
    void shouldTargetTheUnixSocketWhenGivenAUnixUriOrAnAbsolutePath() {
        assertEquals("unix:///run/weft/weftd.sock", DaemonAddress.parse("unix:///run/weft/weftd.sock").target());
        assertEquals("unix:///run/weft/weftd.sock", DaemonAddress.parse("unix:/run/weft/weftd.sock").target());
        assertEquals("unix:///run/weft/weftd.sock", DaemonAddress.parse("/run/weft/weftd.sock").target());
        assertEquals("unix:///run/weft/weftd.sock", DaemonAddress.parse("/run/weft/weftd.sock").toString());
    }

    @Test
    void shouldTargetDnsWhenGivenHostAndPort() {
        assertEquals("dns:///127.0.0.1:7311", DaemonAddress.parse("127.0.0.1:7311").target());
        assertEquals("dns:///[::1]:7311", DaemonAddress.parse("[::1]:7311").target());
        assertEquals("localhost:1", DaemonAddress.parse("localhost:1").toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"unix://host/path", "unix:relative.sock", "localhost", "::1:7311", "host:", ":7311",
        "host:port"})
    void shouldRejectAddressWhenMalformed(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DaemonAddress.parse(text));
        assertEquals(DaemonAddress.EXPECTED, e.getMessage());
    }

    @Test
    void shouldPreferWeftAddrWhenSet() throws Exception {
        Path xdg = Files.createDirectories(dir.resolve("xdg/weft"));
        Files.createFile(xdg.resolve("weftd.sock"));
        assertEquals("127.0.0.1:9", DaemonAddress.defaultText(
                Map.of("WEFT_ADDR", "127.0.0.1:9", "XDG_RUNTIME_DIR", dir.resolve("xdg").toString()),
                dir.resolve("none"), dir.resolve("none")));
    }

    @Test
    void shouldPreferTheUserSocketWhenItExists() throws Exception {
        Path xdg = Files.createDirectories(dir.resolve("xdg/weft"));
        Files.createFile(xdg.resolve("weftd.sock"));
        Path system = Files.createFile(dir.resolve("system.sock"));
        assertEquals("unix://" + xdg.resolve("weftd.sock"), DaemonAddress.defaultText(
                Map.of("XDG_RUNTIME_DIR", dir.resolve("xdg").toString()), system, dir.resolve("none")));
    }

    @Test
    void shouldFallBackToSystemThenTemporarySocketThenTcpWhenOthersAreMissing() throws Exception {
        Map<String, String> env = Map.of("XDG_RUNTIME_DIR", dir.resolve("xdg").toString());
        Path system = dir.resolve("system.sock");
        Path tmp = dir.resolve("tmp.sock");
        assertEquals("127.0.0.1:7311", DaemonAddress.defaultText(env, system, tmp));
        Files.createFile(tmp);
        assertEquals("unix://" + tmp, DaemonAddress.defaultText(env, system, tmp));
        Files.createFile(system);
        assertEquals("unix://" + system, DaemonAddress.defaultText(env, system, tmp));
    }
}
