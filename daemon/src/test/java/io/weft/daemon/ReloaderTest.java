package io.weft.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.daemon.config.LogLevel;
import io.weft.daemon.config.Settings;
import io.weft.daemon.config.WeftConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReloaderTest {

    @TempDir
    Path dir;

    private final List<LogLevel> levels = new ArrayList<>();
    private final List<Object> others = new ArrayList<>();

    private Reloader reloaderFor(Path conf) throws Exception {
        String[] args = {"--config=" + conf};
        return new Reloader(args, Map::of, WeftConfig.load(args, Map.of()))
                .on(Settings.LOG_LEVEL, levels::add)
                .on(Settings.STATS_DISABLED, others::add)
                .on(Settings.SKETCH_FIELDS, others::add)
                .on(Settings.PEERS, others::add)
                .requireEveryReloadableHandled();
    }

    @Test
    void shouldApplyReloadableSettingWhenItChangedInTheFile() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "log.level = info\n");
        Reloader reloader = reloaderFor(conf);

        Files.writeString(conf, "log.level = debug\n");
        Reloader.Outcome outcome = reloader.reload();

        assertEquals(List.of("log.level=debug"), outcome.applied());
        assertEquals(List.of(), outcome.needRestart());
        assertEquals(List.of(LogLevel.DEBUG), levels);
    }

    @Test
    void shouldApplyNothingWhenNothingChanged() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "log.level = warn\n");
        Reloader reloader = reloaderFor(conf);

        Reloader.Outcome outcome = reloader.reload();

        assertEquals(new Reloader.Outcome(false, List.of(), List.of(), List.of()), outcome);
        assertTrue(levels.isEmpty());
    }

    @Test
    void shouldNameNonReloadableChangeOnEveryReloadUntilRestartWhenFileChangesIt() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "collator.live-max = 10\n");
        Reloader reloader = reloaderFor(conf);

        Files.writeString(conf, "collator.live-max = 20\nwatch.max = 3\n");
        assertEquals(List.of("collator.live-max", "watch.max"), reloader.reload().needRestart());
        Files.writeString(conf, "collator.live-max = 20\nwatch.max = 3\nlog.level = error\n");
        Reloader.Outcome second = reloader.reload();

        assertEquals(List.of("collator.live-max", "watch.max"), second.needRestart(),
                "still running with the old values, so still to be restarted");
        assertEquals(List.of("log.level=error"), second.applied());
    }

    @Test
    void shouldChangeNothingWhenNewConfigurationIsInvalid() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "log.level = info\n");
        Reloader reloader = reloaderFor(conf);

        Files.writeString(conf, "log.level = loud\n");
        Reloader.Outcome outcome = reloader.reload();

        assertTrue(outcome.refused());
        assertTrue(levels.isEmpty());
        Files.writeString(conf, "log.level = debug\n");
        assertEquals(List.of("log.level=debug"), reloader.reload().applied(), "a later valid file still applies");
    }

    @Test
    void shouldTryAgainOnNextReloadWhenActionFailed() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "log.level = info\n");
        String[] args = {"--config=" + conf};
        List<LogLevel> seen = new ArrayList<>();
        Reloader reloader = new Reloader(args, Map::of, WeftConfig.load(args, Map.of()))
                .on(Settings.LOG_LEVEL, level -> {
                    seen.add(level);
                    if (seen.size() == 1) {
                        throw new IllegalStateException("logging busy");
                    }
                });

        Files.writeString(conf, "log.level = debug\n");
        Reloader.Outcome failed = reloader.reload();
        Reloader.Outcome retried = reloader.reload();

        assertEquals(List.of("log.level: logging busy"), failed.failed());
        assertEquals(List.of(), failed.applied());
        assertEquals(List.of("log.level=debug"), retried.applied());
        assertEquals(List.of(LogLevel.DEBUG, LogLevel.DEBUG), seen);
    }

    @Test
    void shouldRefuseToStartWhenReloadableSettingHasNoAction() throws Exception {
        Reloader reloader = new Reloader(new String[0], Map::of, WeftConfig.load(new String[0], Map.of()));

        IllegalStateException e = assertThrows(IllegalStateException.class, reloader::requireEveryReloadableHandled);

        assertTrue(e.getMessage().contains("log.level"), e.getMessage());
    }

    @Test
    void shouldRejectActionWhenSettingIsNotReloadable() throws Exception {
        Reloader reloader = new Reloader(new String[0], Map::of, WeftConfig.load(new String[0], Map.of()));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> reloader.on(Settings.COLLATOR_LIVE_MAX, v -> { }));

        assertTrue(e.getMessage().contains("collator.live-max is not marked reloadable"), e.getMessage());
        assertFalse(Settings.COLLATOR_LIVE_MAX.reloadable());
    }
}
