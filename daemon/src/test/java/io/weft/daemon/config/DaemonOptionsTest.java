package io.weft.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class DaemonOptionsTest {

    @Test
    void shouldRunWithTheLoadedConfigWhenNoActionIsGiven() throws Exception {
        DaemonOptions o = DaemonOptions.parse(new String[] {"--watch.max=5"}, Map.of("WEFT_BOGUS", "1"));
        assertEquals(DaemonOptions.Action.RUN, o.action());
        assertEquals(OptionalInt.empty(), o.exitCode());
        assertEquals(5, o.config().watchMax());
        assertEquals(List.of("unknown environment variable WEFT_BOGUS ignored"), o.warnings());
        assertEquals("", o.output());
    }

    @Test
    void shouldPrintConfigOkWhenCheckingAValidConfig() throws Exception {
        DaemonOptions o = DaemonOptions.parse(new String[] {"--check-config"}, Map.of("WEFT_BOGUS", "1"));
        assertEquals(DaemonOptions.Action.CHECK, o.action());
        assertEquals(OptionalInt.of(0), o.exitCode());
        assertEquals("warning: unknown environment variable WEFT_BOGUS ignored\nconfig ok\n", o.output());
    }

    @Test
    void shouldThrowEveryErrorWhenCheckingAnInvalidConfig() {
        ConfigException e = assertThrows(ConfigException.class, () -> DaemonOptions.parse(
                new String[] {"--check-config", "--listen=abc"}, Map.of("WEFT_WATCH_MAX", "0")));
        assertEquals(2, e.problems().size());
    }

    @Test
    void shouldPrintEverySettingWithItsSourceWhenPrintingConfig() throws Exception {
        DaemonOptions o = DaemonOptions.parse(new String[] {"--print-config"}, Map.of("WEFT_LISTEN", "off"));
        assertEquals(OptionalInt.of(0), o.exitCode());
        assertTrue(o.output().contains("\nlisten = off  # env WEFT_LISTEN\n"), o.output());
        for (Setting<?> s : Settings.ALL) {
            assertTrue(o.output().contains("\n" + s.key() + " = "), s.key());
        }
    }

    @Test
    void shouldListEverySettingWithDefaultAndVariableWhenAskedForHelp() throws Exception {
        DaemonOptions o = DaemonOptions.parse(new String[] {"--listen=broken", "--help"}, Map.of());
        assertEquals(DaemonOptions.Action.HELP, o.action());
        assertNull(o.config());
        String help = o.output();
        for (Setting<?> s : Settings.ALL) {
            assertTrue(help.contains("  " + s.flag() + "=" + s.defaultText() + "    env " + s.env()), s.key());
        }
        assertTrue(help.contains("inbound.client-quota -> WEFT_INBOUND_CLIENT_QUOTA"), help);
        assertTrue(help.contains("--check-config"), help);
        assertTrue(help.contains("--log.level=info    env WEFT_LOG_LEVEL    reloadable"), help);
    }

    @Test
    void shouldPrintTheVersionWhenAsked() throws Exception {
        DaemonOptions o = DaemonOptions.parse(new String[] {"--version"}, Map.of());
        assertEquals("weftd " + BuildInfo.version() + "\n", o.output());
        assertEquals(OptionalInt.of(0), o.exitCode());
    }
}
