package io.weft.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ValueTypesTest {

    private static final ValueType<Duration> DURATION = ValueTypes.duration(Duration.ZERO, Duration.ofDays(1));
    private static final ValueType<Long> BYTES = ValueTypes.bytes(1024, 1L << 40);
    private static final ValueType<Optional<HostPort>> HOST_PORT = ValueTypes.hostPortOrOff();
    private static final ValueType<SocketLocation> SOCKET = ValueTypes.socket();

    @Test
    void shouldParseDurationsWhenTheyHaveAUnit() {
        assertEquals(Duration.ofMillis(250), DURATION.parse("250ms"));
        assertEquals(Duration.ofSeconds(5), DURATION.parse("5s"));
        assertEquals(Duration.ofMinutes(2), DURATION.parse("2m"));
        assertEquals(Duration.ofHours(1), DURATION.parse("1h"));
        assertEquals(Duration.ZERO, DURATION.parse("0s"));
    }

    @Test
    void shouldHintAtUnitsWhenADurationIsABareNumber() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DURATION.parse("5"));
        assertEquals("a duration needs a unit: 5ms, 5s, 5m or 5h", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"5 s", "5sec", "1.5s", "-1s", "s", "", "5S"})
    void shouldRejectDurationWhenMalformed(String raw) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DURATION.parse(raw));
        assertTrue(e.getMessage().startsWith("expected a duration like 250ms") || e.getMessage().contains("unit"),
                e.getMessage());
    }

    @Test
    void shouldRejectDurationWhenOutOfRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ValueTypes.duration(Duration.ofMillis(1), Duration.ofSeconds(10)).parse("11s"));
        assertEquals("must be between 1ms and 10s", e.getMessage());
    }

    @Test
    void shouldFormatDurationsInTheLargestExactUnitWhenPrinting() {
        assertEquals("1h", DURATION.format(Duration.ofMinutes(60)));
        assertEquals("90s", DURATION.format(Duration.ofSeconds(90)));
        assertEquals("1500ms", DURATION.format(Duration.ofMillis(1500)));
        assertEquals("0s", DURATION.format(Duration.ZERO));
    }

    @Test
    void shouldParseSizesWhenGivenWithBinaryUnitsOrPlain() {
        assertEquals(1024L * 1024, BYTES.parse("1MiB"));
        assertEquals(64L * 1024, BYTES.parse("64KiB"));
        assertEquals(2048L, BYTES.parse("2048"));
        assertEquals(2048L, BYTES.parse("2048B"));
        assertEquals(1L << 30, BYTES.parse("1GiB"));
        assertEquals("1MiB", BYTES.format(1024L * 1024));
        assertEquals("1536", BYTES.format(1536L));
    }

    @ParameterizedTest
    @ValueSource(strings = {"1MB", "1 MiB", "1.5MiB", "-1", "MiB", "1mib", ""})
    void shouldRejectSizeWhenMalformed(String raw) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BYTES.parse(raw));
        assertEquals("expected a size like 1MiB, 64KiB or a number of bytes", e.getMessage());
    }

    @Test
    void shouldRejectSizeWhenOutOfRangeOrOverflowing() {
        assertEquals("must be between 1KiB and 1TiB",
                assertThrows(IllegalArgumentException.class, () -> BYTES.parse("1000")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> BYTES.parse("99999999999TiB"));
        assertThrows(IllegalArgumentException.class, () -> BYTES.parse("9999999999999999999"));
    }

    @Test
    void shouldParseIntegersWhenInRange() {
        ValueType<Integer> t = ValueTypes.integer(1, 65_536);
        assertEquals(1, t.parse("1"));
        assertEquals(65_536, t.parse("65_536"));
        assertEquals("must be between 1 and 65536",
                assertThrows(IllegalArgumentException.class, () -> t.parse("0")).getMessage());
        assertEquals("expected a whole number between 1 and 65536",
                assertThrows(IllegalArgumentException.class, () -> t.parse("1e3")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.parse("99999999999"));
    }

    @Test
    void shouldParseHostPortWhenIpv4NameOrBracketedIpv6() {
        assertEquals(Optional.of(new HostPort("127.0.0.1", 7311)), HOST_PORT.parse("127.0.0.1:7311"));
        assertEquals(Optional.of(new HostPort("::1", 7311)), HOST_PORT.parse("[::1]:7311"));
        assertEquals(Optional.of(new HostPort("localhost", 0)), HOST_PORT.parse("localhost:0"));
        assertEquals(Optional.empty(), HOST_PORT.parse("off"));
        assertEquals("[::1]:7311", HOST_PORT.format(HOST_PORT.parse("[::1]:7311")));
        assertEquals("off", HOST_PORT.format(Optional.empty()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "127.0.0.1", ":7311", "host:", "::1:7311", "[::1:7311", "[]:1", "a b:1", "OFF"})
    void shouldRejectHostPortWhenMalformed(String raw) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HOST_PORT.parse(raw));
        assertEquals("expected host:port (e.g. 127.0.0.1:7311 or [::1]:7311) or \"off\"", e.getMessage());
    }

    @Test
    void shouldRejectPortWhenAbove65535OrNotANumber() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HOST_PORT.parse("h:65536"))
                .getMessage().startsWith("port must be a number from 0 to 65535"));
        assertThrows(IllegalArgumentException.class, () -> HOST_PORT.parse("h:http"));
    }

    @Test
    void shouldParseSocketWhenAbsolutePathAutoOrOff() {
        assertEquals(SocketLocation.AUTO, SOCKET.parse("auto"));
        assertEquals(SocketLocation.OFF, SOCKET.parse("off"));
        assertEquals(Path.of("/run/x.sock"), SOCKET.parse("/run/x.sock").path());
        assertEquals("/run/x.sock", SOCKET.format(SOCKET.parse("/run/x.sock")));
    }

    @Test
    void shouldRejectSocketWhenRelativeOrTooLong() {
        assertEquals("expected an absolute path, \"auto\" or \"off\"",
                assertThrows(IllegalArgumentException.class, () -> SOCKET.parse("run/x.sock")).getMessage());
        String longPath = "/" + "d".repeat(120) + "/weftd.sock";
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SOCKET.parse(longPath))
                .getMessage().startsWith("a unix socket path is at most 107 bytes"));
    }

    @Test
    void shouldParsePathOrOffWhenGiven() {
        ValueType<Optional<Path>> t = ValueTypes.pathOrOff();
        assertEquals(Optional.of(Path.of("events.jsonl")), t.parse("events.jsonl"));
        assertEquals(Optional.empty(), t.parse("off"));
        assertThrows(IllegalArgumentException.class, () -> t.parse(""));
    }

    @Test
    void shouldParseOctalModesWhenThreeOrFourDigits() {
        ValueType<Integer> t = ValueTypes.fileMode();
        assertEquals(0660, t.parse("0660"));
        assertEquals(0600, t.parse("600"));
        assertEquals("0660", t.format(0660));
        assertThrows(IllegalArgumentException.class, () -> t.parse("0880"));
        assertThrows(IllegalArgumentException.class, () -> t.parse("rw-rw----"));
    }

    @Test
    void shouldParseLogLevelsWhenAnyCase() {
        ValueType<LogLevel> t = ValueTypes.logLevel();
        assertEquals(LogLevel.DEBUG, t.parse("debug"));
        assertEquals(LogLevel.WARN, t.parse("WARN"));
        assertEquals("warn", t.format(LogLevel.WARN));
        assertEquals("expected debug, info, warn or error",
                assertThrows(IllegalArgumentException.class, () -> t.parse("warning")).getMessage());
    }

    @Test
    void shouldAcceptHostNamesWhenUsedAsDaemonIds() {
        ValueType<String> t = ValueTypes.daemonId();
        assertEquals("web-01.eu_west", t.parse("web-01.eu_west"));
        assertThrows(IllegalArgumentException.class, () -> t.parse("-x"));
        assertThrows(IllegalArgumentException.class, () -> t.parse("a b"));
        assertThrows(IllegalArgumentException.class, () -> t.parse("a@b"));
    }

    @Test
    void shouldReadOnOrOffWhenParsingASwitch() {
        assertEquals(true, ValueTypes.onOff().parse("on"));
        assertEquals(false, ValueTypes.onOff().parse("off"));
        assertEquals("off", ValueTypes.onOff().format(false));
        assertEquals("expected \"on\" or \"off\"",
                assertThrows(IllegalArgumentException.class, () -> ValueTypes.onOff().parse("yes")).getMessage());
    }

    @Test
    void shouldReadCommaSeparatedNamesWhenParsingAFieldList() {
        ValueType<java.util.List<String>> t = ValueTypes.namesOrOff(3);
        assertEquals(java.util.List.of("client_ip", "url"), t.parse("client_ip, url,client_ip"));
        assertEquals(java.util.List.of(), t.parse("off"));
        assertEquals("client_ip,url", t.format(t.parse("client_ip,url")));
        assertEquals("off", t.format(java.util.List.of()));
        assertEquals("at most 3 names", assertThrows(IllegalArgumentException.class, () -> t.parse("a,b,c,d"))
                .getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> t.parse("a,,b")).getMessage()
                .startsWith("expected comma-separated names"));
    }
}
