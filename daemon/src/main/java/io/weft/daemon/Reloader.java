package io.weft.daemon;

import io.weft.daemon.config.ConfigException;
import io.weft.daemon.config.Setting;
import io.weft.daemon.config.Settings;
import io.weft.daemon.config.WeftConfig;
import io.weft.daemon.log.LogFormat;
import io.weft.daemon.log.Logs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * SIGHUP: reads the configuration again (same flags, current environment and file), applies the
 * settings marked reloadable and says, in one log line, what changed and what needs a restart. An
 * invalid file changes nothing and is reported.
 */
final class Reloader {

    private static final Logger LOG = Logger.getLogger("weftd");

    private final String[] args;
    private final Supplier<Map<String, String>> env;
    private WeftConfig current;

    Reloader(String[] args, Supplier<Map<String, String>> env, WeftConfig current) {
        this.args = args.clone();
        this.env = env;
        this.current = current;
    }

    /** Runs one reload; called on the signal thread, one at a time. */
    synchronized void reload() {
        WeftConfig fresh;
        try {
            fresh = WeftConfig.load(args, env.get());
        } catch (ConfigException e) {
            LOG.warning("msg=\"reload refused: invalid configuration; nothing changed\" error="
                    + LogFormat.quote(e.getMessage()));
            return;
        }
        List<String> applied = new ArrayList<>();
        List<String> needRestart = new ArrayList<>();
        for (Setting<?> s : fresh.changedFrom(current)) {
            if (s.reloadable()) {
                apply(s, fresh);
                applied.add(s.key() + "=" + fresh.text(s));
            } else {
                needRestart.add(s.key());
            }
        }
        current = fresh;
        LOG.info("msg=reloaded applied=" + LogFormat.quote(String.join(",", applied))
                + " need_restart=" + LogFormat.quote(String.join(",", needRestart)));
    }

    private static void apply(Setting<?> s, WeftConfig fresh) {
        if (s == Settings.LOG_LEVEL) {
            Logs.setLevel(fresh.logLevel().configName());
        }
    }
}
