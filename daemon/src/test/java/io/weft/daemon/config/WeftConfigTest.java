package io.weft.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeftConfigTest {

    @TempDir
    Path dir;

    @Test
    void shouldUseEveryDefaultWhenNothingIsGiven() throws Exception {
        WeftConfig c = WeftConfig.load(new String[0], Map.of());
        assertEquals(SocketLocation.AUTO, c.socket());
        assertEquals(0660, c.socketMode());
        assertEquals(Optional.of(new HostPort("127.0.0.1", 7311)), c.listen());
        assertEquals(LogLevel.INFO, c.logLevel());
        assertEquals(Duration.ofSeconds(5), c.drainGrace());
        assertEquals(65536, c.inboundCapacity());
        assertEquals(16384, c.inboundClientQuota());
        assertEquals(4096, c.brokerInboundDrainLimit());
        assertEquals(64, c.brokerClientDrainLimit());
        assertEquals(Duration.ofMillis(10), c.brokerSlowCycle());
        assertEquals(100_000, c.collatorLiveMax());
        assertEquals(Duration.ofHours(1), c.collatorLiveTtl());
        assertEquals(10_000, c.collatorFinishedMax());
        assertEquals(1 << 20, c.limitsEventBytes());
        assertEquals(64, c.limitsDepth());
        assertEquals(1024, c.limitsFields());
        assertEquals(64, c.limitsHeaders());
        assertEquals(8 << 20, c.grpcMaxMessageBytes());
        assertEquals(256, c.watchMax());
        assertEquals(4096, c.watchBuffer());
        assertEquals(1024, c.flushMaxPending());
        assertEquals(Optional.empty(), c.sinkFile());
        assertEquals(65536, c.sinkFileCapacity());
        assertEquals(256L << 20, c.sinkFileMaxBytes());
        assertTrue(!c.daemonId().isEmpty());
        assertEquals(Optional.empty(), c.file());
        for (Setting<?> s : Settings.ALL) {
            assertEquals(Source.DEFAULT, c.source(s), s.key());
        }
    }

    @Test
    void shouldPreferFlagOverEnvOverFileOverDefaultWhenAllAreGiven() throws Exception {
        Path file = write("weftd.conf",
                "# a comment",
                "",
                "listen = 127.0.0.1:1001",
                "watch.max = 11",
                "watch.buffer = 12",
                "log.level = debug");
        WeftConfig c = WeftConfig.load(
                new String[] {"--config=" + file, "--listen=127.0.0.1:3003"},
                Map.of("WEFT_LISTEN", "127.0.0.1:2002", "WEFT_WATCH_MAX", "22"));
        assertEquals(Optional.of(new HostPort("127.0.0.1", 3003)), c.listen());
        assertEquals(Source.flag("--listen"), c.source(Settings.LISTEN));
        assertEquals(22, c.watchMax());
        assertEquals(Source.env("WEFT_WATCH_MAX"), c.source(Settings.WATCH_MAX));
        assertEquals(12, c.watchBuffer());
        assertEquals(Source.file(file.toString(), 5), c.source(Settings.WATCH_BUFFER));
        assertEquals("file " + file + ":5", c.source(Settings.WATCH_BUFFER).toString());
        assertEquals(LogLevel.DEBUG, c.logLevel());
        assertEquals(Source.DEFAULT, c.source(Settings.FLUSH_MAX_PENDING));
        assertEquals(Optional.of(file), c.file());
    }

    @Test
    void shouldReadTheFileNamedByWeftConfigWhenNoFlagGivesOne() throws Exception {
        Path file = write("w.conf", "watch.max = 7");
        WeftConfig c = WeftConfig.load(new String[0], Map.of("WEFT_CONFIG", file.toString()));
        assertEquals(7, c.watchMax());
    }

    @Test
    void shouldTreatAnEmptyVariableAsUnsetWhenLoading() throws Exception {
        WeftConfig c = WeftConfig.load(new String[0], Map.of("WEFT_LISTEN", "", "WEFT_CONFIG", " "));
        assertEquals(Source.DEFAULT, c.source(Settings.LISTEN));
    }

    @Test
    void shouldNameSettingValueAndSourceWhenAValueIsInvalid() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[0], Map.of("WEFT_LISTEN", "abc")));
        assertEquals(List.of("listen = \"abc\" (env WEFT_LISTEN): expected host:port (e.g. 127.0.0.1:7311 or"
                + " [::1]:7311) or \"off\""), e.problems());
    }

    @Test
    void shouldReportEveryErrorWhenSeveralValuesAreInvalid() throws Exception {
        Path file = write("bad.conf", "drain.grace = 5", "lisen = x");
        ConfigException e = assertThrows(ConfigException.class, () -> WeftConfig.load(
                new String[] {"--config=" + file, "--watch.max=0", "--log.level=loud"},
                Map.of("WEFT_SINK_FILE_MAX_BYTES", "1TB")));
        assertEquals(List.of(
                file + ":2: unknown setting \"lisen\" (did you mean listen?)",
                "log.level = \"loud\" (flag --log.level): expected debug, info, warn or error",
                "drain.grace = \"5\" (file " + file + ":1): a duration needs a unit: 5ms, 5s, 5m or 5h",
                "watch.max = \"0\" (flag --watch.max): must be between 1 and 65536",
                "sink.file.max-bytes = \"1TB\" (env WEFT_SINK_FILE_MAX_BYTES): expected a size like 1MiB, 64KiB or"
                        + " a number of bytes"),
                e.problems());
        assertEquals(String.join("\n", e.problems()), e.getMessage());
    }

    @Test
    void shouldNameBothSidesWhenEveryListenerIsOff() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[] {"--listen=off"}, Map.of("WEFT_SOCKET", "off")));
        assertEquals(List.of("no gRPC listener: socket is off (env WEFT_SOCKET) and listen is off (flag --listen)"),
                e.problems());
    }

    @Test
    void shouldNameBothSidesWhenTheClientQuotaExceedsTheCapacity() {
        ConfigException e = assertThrows(ConfigException.class, () -> WeftConfig.load(
                new String[] {"--inbound.client-quota=20000"}, Map.of("WEFT_INBOUND_CAPACITY", "16384")));
        assertEquals(List.of("inbound.client-quota = 20000 (flag --inbound.client-quota) is above inbound.capacity"
                + " = 16384 (env WEFT_INBOUND_CAPACITY): one client may not queue more than the inbound"
                + " queue holds"), e.problems());
    }

    @Test
    void shouldReportEveryConflictWhenSeveralSettingsDisagree() {
        ConfigException e = assertThrows(ConfigException.class, () -> WeftConfig.load(
                new String[] {"--grpc.max-message-bytes=512KiB", "--broker.client-drain-limit=5000"}, Map.of()));
        assertEquals(List.of(
                "broker.client-drain-limit = 5000 (flag --broker.client-drain-limit) is above"
                        + " broker.inbound-drain-limit = 4096 (default): one client's share of a duty cycle cannot"
                        + " exceed the whole cycle",
                "limits.event-bytes = 1MiB (default) is above grpc.max-message-bytes = 512KiB"
                        + " (flag --grpc.max-message-bytes): a gRPC message must be able to carry the largest event"),
                e.problems());
    }

    @Test
    void shouldNameFileAndLineWhenAFileLineIsMalformedOrRepeated() throws Exception {
        Path file = write("dup.conf", "listen = off", "just words", "listen = 127.0.0.1:1", "socket = \"/x");
        ConfigException e = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[] {"--config=" + file}, Map.of()));
        assertEquals(List.of(
                file + ":2: expected \"key = value\"",
                file + ":4: missing closing quote",
                file + ":3: listen is set twice (first on line 1)"),
                e.problems());
    }

    @Test
    void shouldFailWhenTheConfigFileDoesNotExist() {
        Path missing = dir.resolve("nope.conf");
        ConfigException e = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[] {"--config=" + missing}, Map.of()));
        assertEquals(List.of("config file " + missing + " does not exist"), e.problems());
    }

    @Test
    void shouldRejectFlagsWhenUnknownValuelessOrPositional() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[] {"--lissten=x", "--listen", "--config", "stray"}, Map.of()));
        assertEquals(List.of(
                "unknown flag --lissten (did you mean --listen?)",
                "flag --listen needs a value: --listen=VALUE",
                "flag --config needs a value: --config=PATH",
                "unexpected argument \"stray\": settings are flags like --listen=127.0.0.1:7311"),
                e.problems());
    }

    @Test
    void shouldPassOverActionFlagsWhenLoading() throws Exception {
        WeftConfig c = WeftConfig.load(new String[] {"--check-config", "--print-config", "--watch.max=3"}, Map.of());
        assertEquals(3, c.watchMax());
    }

    @Test
    void shouldWarnWhenAWeftVariableIsUnknown() throws Exception {
        WeftConfig c = WeftConfig.load(new String[0], Map.of(
                "WEFT_LISTN", "x",
                "WEFT_PEERS", "h2:7313",
                "WEFT_PEER_PLAINTEXT", "1",
                "WEFT_ADDR", "unix:///x",
                "WEFT_JAVA_OPTS", "-Xmx1g",
                "PATH", "/bin"));
        assertEquals(List.of("unknown environment variable WEFT_LISTN ignored (did you mean WEFT_LISTEN?)"),
                c.warnings());
    }

    @Test
    void shouldCarryWarningsWhenLoadingFails() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[] {"--watch.max=0"}, Map.of("WEFT_NOPE", "1")));
        assertEquals(List.of("unknown environment variable WEFT_NOPE ignored"), e.warnings());
    }

    @Test
    void shouldGiveTheSameConfigWhenPrintedConfigIsReadBack() throws Exception {
        Path file = write("in.conf", "watch.buffer = 100", "sink.file = /tmp/weft events #1.jsonl");
        WeftConfig original = WeftConfig.load(
                new String[] {"--config=" + file, "--listen=[::1]:0", "--socket=/tmp/w.sock", "--drain.grace=90s"},
                Map.of("WEFT_LIMITS_EVENT_BYTES", "65536", "WEFT_LOG_LEVEL", "WARN", "WEFT_SOCKET_MODE", "600"));
        String printed = original.render();
        Path reread = dir.resolve("printed.conf");
        Files.writeString(reread, printed);
        WeftConfig back = WeftConfig.load(new String[] {"--config=" + reread}, Map.of());
        for (Setting<?> s : Settings.ALL) {
            assertEquals(original.get(s), back.get(s), s.key());
            assertEquals(original.text(s), back.text(s), s.key());
        }
        assertTrue(printed.contains("\nlisten = [::1]:0  # flag --listen\n"), printed);
        assertTrue(printed.contains("\nlimits.event-bytes = 64KiB  # env WEFT_LIMITS_EVENT_BYTES\n"), printed);
        assertTrue(printed.contains("\nwatch.buffer = 100  # file " + file + ":1\n"), printed);
        assertTrue(printed.contains("\nwatch.max = 256  # default\n"), printed);
        assertEquals("/tmp/weft events", original.sinkFile().orElseThrow().toString());
    }

    @Test
    void shouldKeepHashesWhenAValueIsQuoted() throws Exception {
        Path file = write("q.conf", "sink.file = \"/tmp/a #1.jsonl\"  # the sink");
        WeftConfig c = WeftConfig.load(new String[] {"--config=" + file}, Map.of());
        assertEquals(Path.of("/tmp/a #1.jsonl"), c.sinkFile().orElseThrow());
        assertTrue(c.render().contains("sink.file = \"/tmp/a #1.jsonl\"  # file "), c.render());
    }

    @Test
    void shouldListChangedSettingsWhenComparedWithAnOlderConfig() throws Exception {
        WeftConfig older = WeftConfig.load(new String[0], Map.of());
        WeftConfig newer = WeftConfig.load(new String[] {"--log.level=debug", "--watch.max=9"}, Map.of());
        assertEquals(List.of(Settings.LOG_LEVEL, Settings.WATCH_MAX), newer.changedFrom(older));
        assertTrue(Settings.LOG_LEVEL.reloadable());
    }

    @Test
    void shouldResolveTheSocketWithTheLoadEnvironmentWhenAsked() throws Exception {
        WeftConfig explicit = WeftConfig.load(new String[] {"--socket=/tmp/x.sock"}, Map.of());
        assertEquals(Optional.of(Path.of("/tmp/x.sock")), explicit.socketPath());
        WeftConfig off = WeftConfig.load(new String[] {"--socket=off"}, Map.of());
        assertEquals(Optional.empty(), off.socketPath());
        WeftConfig auto = WeftConfig.load(new String[0], Map.of("XDG_RUNTIME_DIR", dir.toString()));
        assertTrue(auto.socketPath().orElseThrow().endsWith("weftd.sock"));
    }

    @Test
    void shouldTurnTheModeIntoPermissionsWhenAsked() throws Exception {
        WeftConfig c = WeftConfig.load(new String[] {"--socket.mode=0640"}, Map.of());
        assertEquals(PosixFilePermissions.fromString("rw-r-----"), c.socketPermissions());
    }

    private Path write(String name, String... lines) throws IOException {
        return Files.write(dir.resolve(name), List.of(lines));
    }
}
