package io.weft.daemon;

import io.weft.daemon.config.ConfigException;
import io.weft.daemon.config.Setting;
import io.weft.daemon.config.Settings;
import io.weft.daemon.config.WeftConfig;
import io.weft.daemon.log.LogFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * SIGHUP: reads the configuration again (same flags, current environment and file), applies the
 * settings marked reloadable and says, in one log line, what changed and what needs a restart. An
 * invalid file changes nothing and is reported.
 *
 * <p>Making a setting reloadable is two steps: mark it with {@code Setting.reloadable} in
 * {@link Settings}, and register how to apply it with {@link #on} where weftd is wired together.
 * {@link #requireEveryReloadableHandled()} (called at startup) fails when a setting is marked
 * but has no action, so the two cannot drift apart.
 */
final class Reloader {

    private static final Logger LOG = Logger.getLogger("weftd");

    /**
     * What one reload did.
     *
     * @param refused the new configuration was invalid: nothing was applied (see the log line)
     * @param applied {@code key=value} of each reloadable setting applied
     * @param needRestart keys of settings that differ from the running configuration but are
     *     not reloadable (they stay listed on every reload until a restart)
     * @param failed {@code key: error} of each action that threw; the next reload tries again
     */
    record Outcome(boolean refused, List<String> applied, List<String> needRestart, List<String> failed) {
    }

    private final String[] args;
    private final Supplier<Map<String, String>> env;
    /** The configuration weftd started with: what the non-reloadable settings still are. */
    private final WeftConfig started;
    private final Map<Setting<?>, Consumer<WeftConfig>> actions = new LinkedHashMap<>();
    /** The last configuration whose reloadable settings were all applied. */
    private WeftConfig applied;

    Reloader(String[] args, Supplier<Map<String, String>> env, WeftConfig started) {
        this.args = args.clone();
        this.env = env;
        this.started = started;
        this.applied = started;
    }

    /**
     * Registers how a reloadable setting is applied at run time. The action runs on the signal
     * thread with the new value; it must be idempotent (a reload after a failed one repeats it) and
     * must hand the value to the broker thread through its queue if the broker owns that state.
     *
     * @param setting a setting marked reloadable
     * @param action applies a new value
     * @param <T> the value type
     * @return this
     * @throws IllegalArgumentException when the setting is not marked reloadable, or has an action
     */
    <T> Reloader on(Setting<T> setting, Consumer<? super T> action) {
        if (!setting.reloadable()) {
            throw new IllegalArgumentException(setting.key() + " is not marked reloadable in Settings");
        }
        if (actions.putIfAbsent(setting, c -> action.accept(c.get(setting))) != null) {
            throw new IllegalArgumentException(setting.key() + " already has a reload action");
        }
        return this;
    }

    /**
     * Checks that every setting marked reloadable has an action.
     *
     * @return this
     * @throws IllegalStateException naming the settings without one
     */
    Reloader requireEveryReloadableHandled() {
        List<String> missing = Settings.ALL.stream()
                .filter(s -> s.reloadable() && !actions.containsKey(s))
                .map(Setting::key)
                .toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("settings marked reloadable without a reload action: "
                    + String.join(", ", missing));
        }
        return this;
    }

    /** Runs one reload and logs its {@code msg=reloaded} line; called on the signal thread, one at a time. */
    synchronized Outcome reload() {
        WeftConfig fresh;
        try {
            fresh = WeftConfig.load(args, env.get());
        } catch (ConfigException e) {
            LOG.warning("msg=\"reload refused: invalid configuration; nothing changed\" error="
                    + LogFormat.quote(e.getMessage()));
            return new Outcome(true, List.of(), List.of(), List.of());
        }
        List<String> done = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (Setting<?> s : fresh.changedFrom(applied)) {
            if (s.reloadable()) {
                Consumer<WeftConfig> action = actions.get(s);
                if (action == null) {
                    failed.add(s.key() + ": no reload action registered");
                    continue;
                }
                try {
                    action.accept(fresh);
                    done.add(s.key() + "=" + fresh.text(s));
                } catch (RuntimeException e) {
                    failed.add(s.key() + ": " + e.getMessage());
                }
            }
        }
        List<String> needRestart = fresh.changedFrom(started).stream()
                .filter(s -> !s.reloadable())
                .map(Setting::key)
                .toList();
        if (failed.isEmpty()) {
            applied = fresh;
        }
        StringBuilder line = new StringBuilder("msg=reloaded applied=").append(LogFormat.quote(String.join(",", done)))
                .append(" need_restart=").append(LogFormat.quote(String.join(",", needRestart)));
        if (!failed.isEmpty()) {
            line.append(" failed=").append(LogFormat.quote(String.join("; ", failed)));
            LOG.warning(line.toString());
        } else {
            LOG.info(line.toString());
        }
        return new Outcome(false, List.copyOf(done), needRestart, List.copyOf(failed));
    }
}
