package io.weft.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class ConfigReferenceTest {

    /** The committed reference, relative to the daemon module (Maven's basedir). */
    private static final Path COMMITTED = Path.of(System.getProperty("basedir", "."))
            .resolve("../docs/CONFIGURATION.md").normalize();

    @Test
    void shouldMatchCommittedReferenceWhenCatalogChanges() throws Exception {
        String why = "docs/CONFIGURATION.md is out of date with the settings catalog (Settings.java);"
                + " regenerate it from the repository root: " + ConfigReference.REGENERATE;
        assertTrue(Files.exists(COMMITTED), why);
        assertEquals(ConfigReference.markdown(), Files.readString(COMMITTED), why);
    }

    @Test
    void shouldGiveEverySettingItsDefaultEnvironmentAndReloadWhenGenerated() {
        List<String> rows = ConfigReference.markdown().lines().filter(l -> l.startsWith("| `")).toList();

        assertEquals(Settings.ALL.size(), rows.size());
        for (Setting<?> s : Settings.ALL) {
            String row = rows.stream().filter(r -> r.startsWith("| `" + s.key() + "` |")).findFirst().orElseThrow();
            assertTrue(row.contains("`" + s.env() + "`"), row);
            assertTrue(row.contains(s.reloadable() ? "| reloads |" : "| restart |"), row);
            if (!s.computedDefault()) {
                assertTrue(row.contains("| `" + s.defaultText().replace("|", "\\|") + "` |"), row);
            }
        }
        assertTrue(rows.stream().anyMatch(r -> r.startsWith("| `log.level` | `info` | `WEFT_LOG_LEVEL` | reloads |")));
    }

    @Test
    void shouldNotWriteThisHostsNameWhenDefaultIsComputed() {
        String row = ConfigReference.markdown().lines().filter(l -> l.startsWith("| `daemon.id` |")).findFirst()
                .orElseThrow();

        assertTrue(row.contains("computed (see meaning)"), row);
        assertFalse(row.contains("`" + Settings.DAEMON_ID.defaultText() + "`"), row);
    }

    @Test
    void shouldPrintReferenceWithoutLoadingConfigurationWhenFlagGiven() throws Exception {
        DaemonOptions o = DaemonOptions.parse(new String[] {"--print-config-reference"},
                Map.of("WEFT_LISTEN", "not-an-address"));

        assertEquals(DaemonOptions.Action.REFERENCE, o.action());
        assertEquals(OptionalInt.of(0), o.exitCode());
        assertEquals(ConfigReference.markdown(), o.output());
    }
}
