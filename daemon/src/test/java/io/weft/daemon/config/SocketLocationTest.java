package io.weft.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SocketLocationTest {

    @TempDir
    Path dir;

    @Test
    void shouldUseTheSystemDirectoryWhenItIsWritable() throws Exception {
        Path system = Files.createDirectory(dir.resolve("run-weft"));
        assertEquals(Optional.of(system.resolve("weftd.sock")),
                SocketLocation.AUTO.resolve(Map.of("XDG_RUNTIME_DIR", "/run/user/1000"), system, dir, "u"));
    }

    @Test
    void shouldUseTheUserRuntimeDirectoryWhenTheSystemOneIsMissing() {
        assertEquals(Optional.of(Path.of("/run/user/1000/weft/weftd.sock")),
                SocketLocation.AUTO.resolve(Map.of("XDG_RUNTIME_DIR", "/run/user/1000"), dir.resolve("none"), dir, "u"));
    }

    @Test
    void shouldUseTheTemporaryDirectoryWhenNoRuntimeDirectoryIsKnown() {
        assertEquals(Optional.of(dir.resolve("weft-alice").resolve("weftd.sock")),
                SocketLocation.AUTO.resolve(Map.of(), dir.resolve("none"), dir, "alice"));
    }

    @Test
    void shouldIgnoreAutoRulesWhenThePathIsExplicitOrOff() {
        SocketLocation explicit = new SocketLocation(SocketLocation.Mode.PATH, Path.of("/x/w.sock"));
        assertEquals(Optional.of(Path.of("/x/w.sock")), explicit.resolve(Map.of(), dir, dir, "u"));
        assertEquals(Optional.empty(), SocketLocation.OFF.resolve(Map.of(), dir, dir, "u"));
    }
}
