package io.weft.daemon.config;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * weftd's command line: what to do ({@link Action}) and the configuration to do it with.
 *
 * <p>Use from {@code main}:
 * <pre>{@code
 * DaemonOptions options = DaemonOptions.parse(args, System.getenv()); // ConfigException: print, exit 2
 * if (options.exitCode().isPresent()) {        // --help, --version, --check-config, --print-config
 *     System.out.print(options.output());
 *     System.exit(options.exitCode().getAsInt());
 * }
 * WeftConfig config = options.config();        // RUN
 * options.warnings().forEach(log::warn);
 * }</pre>
 */
public final class DaemonOptions {

    /** What weftd was asked to do. */
    public enum Action {
        /** Run the daemon. */
        RUN,
        /** {@code --check-config}: validate, print {@code config ok}. */
        CHECK,
        /** {@code --print-config}: print the effective configuration as a config file. */
        PRINT,
        /** {@code --help} / {@code -h}: list every flag and setting. */
        HELP,
        /** {@code --print-config-reference}: print the configuration reference (Markdown). */
        REFERENCE,
        /** {@code --version}. */
        VERSION
    }

    private static final int WIDTH = 100;

    private final Action action;
    private final WeftConfig config;
    private final String output;

    private DaemonOptions(Action action, WeftConfig config, String output) {
        this.action = action;
        this.config = config;
        this.output = output;
    }

    /**
     * Parses the command line and, except for {@code --help}, {@code --version} and
     * {@code --print-config-reference}, loads
     * the configuration. {@code --help} wins over {@code --version}, which wins over
     * {@code --print-config-reference}, then {@code --check-config}, then {@code --print-config}.
     *
     * @param args command-line arguments
     * @param env the environment
     * @return what to do
     * @throws ConfigException when the command line or the configuration is invalid; its
     *     message lists every problem, one per line (print it and exit 2)
     */
    public static DaemonOptions parse(String[] args, Map<String, String> env) throws ConfigException {
        Action action = actionOf(args);
        switch (action) {
            case HELP:
                return new DaemonOptions(action, null, help());
            case VERSION:
                return new DaemonOptions(action, null, "weftd " + BuildInfo.version() + "\n");
            case REFERENCE:
                return new DaemonOptions(action, null, ConfigReference.markdown());
            default:
                break;
        }
        WeftConfig config = WeftConfig.load(args, env);
        StringBuilder out = new StringBuilder();
        if (action == Action.CHECK) {
            config.warnings().forEach(w -> out.append("warning: ").append(w).append('\n'));
            out.append("config ok\n");
        } else if (action == Action.PRINT) {
            // As comments, so the output stays a valid config file.
            config.warnings().forEach(w -> out.append("# warning: ").append(w).append('\n'));
            out.append(config.render());
        }
        return new DaemonOptions(action, config, out.toString());
    }

    private static Action actionOf(String[] args) {
        List<String> list = List.of(args);
        if (list.contains("--help") || list.contains("-h")) {
            return Action.HELP;
        } else if (list.contains("--version")) {
            return Action.VERSION;
        } else if (list.contains("--print-config-reference")) {
            return Action.REFERENCE;
        } else if (list.contains("--check-config")) {
            return Action.CHECK;
        } else if (list.contains("--print-config")) {
            return Action.PRINT;
        }
        return Action.RUN;
    }

    /** What weftd was asked to do. */
    public Action action() {
        return action;
    }

    /** The configuration; null for {@link Action#HELP}, {@link Action#VERSION} and {@link Action#REFERENCE}. */
    public WeftConfig config() {
        return config;
    }

    /** Warnings to log (unknown {@code WEFT_*} variables); empty when no configuration was loaded. */
    public List<String> warnings() {
        return config == null ? List.of() : config.warnings();
    }

    /** The exit code when weftd should print {@link #output()} and exit instead of running. */
    public OptionalInt exitCode() {
        return action == Action.RUN ? OptionalInt.empty() : OptionalInt.of(0);
    }

    /** What to print on stdout before exiting; empty for {@link Action#RUN}. */
    public String output() {
        return output;
    }

    /** The {@code --help} text: every flag, then every setting with its default, variable and meaning. */
    static String help() {
        StringBuilder out = new StringBuilder();
        out.append("Usage: weftd [--config=PATH] [--KEY=VALUE]...\n"
                + "       [--check-config | --print-config | --print-config-reference | --help | --version]\n\n");
        wrap(out, "", "weftd is the Weft sidecar daemon: it collates context deltas from local clients and serves"
                + " them back over gRPC, on a unix socket and on a local TCP port.");
        out.append("\nOptions:\n");
        option(out, "--config=PATH", "read settings from this file (also WEFT_CONFIG); default: none, built-in"
                + " defaults only");
        option(out, "--check-config", "validate the configuration: print \"config ok\" and exit 0, or print every"
                + " error and exit 2");
        option(out, "--print-config", "print the effective configuration as a config file, each value with its"
                + " source, and exit");
        option(out, "--print-config-reference", "print the configuration reference (every setting with its"
                + " default, environment variable, whether SIGHUP reloads it and its meaning) as Markdown, and exit");
        option(out, "-h, --help", "print this help and exit");
        option(out, "--version", "print the version and exit");
        out.append("\nSettings:\n");
        wrap(out, "  ", "Every setting has a default. Set one with the flag --KEY=VALUE, with a line \"KEY = VALUE\""
                + " in the config file, or with the environment variable WEFT_ followed by KEY upper-cased, with"
                + " '.' and '-' turned into '_' (inbound.client-quota -> WEFT_INBOUND_CLIENT_QUOTA); an empty"
                + " variable counts as unset. Precedence: flag, then environment, then file, then default.");
        wrap(out, "  ", "Durations take a unit (250ms, 5s, 2m, 1h); sizes take KiB, MiB, GiB, TiB or are plain bytes."
                + " In the file, '#' after whitespace starts a comment; quote a value (\"...\") that contains '#'."
                + " Settings marked \"reloadable\" are applied on SIGHUP; the others need a restart.");
        out.append('\n');
        for (Setting<?> s : Settings.ALL) {
            out.append("  ").append(s.flag()).append('=').append(s.defaultText());
            out.append("    env ").append(s.env());
            if (s.reloadable()) {
                out.append("    reloadable");
            }
            out.append('\n');
            wrap(out, "      ", s.description() + " [" + s.type().describe() + "]");
        }
        return out.toString();
    }

    private static void option(StringBuilder out, String flag, String text) {
        out.append("  ").append(flag).append('\n');
        wrap(out, "      ", text);
    }

    /** Appends {@code text} word-wrapped to {@link #WIDTH} columns, each line indented. */
    private static void wrap(StringBuilder out, String indent, String text) {
        int col = 0;
        for (String word : text.split(" ")) {
            if (col > 0 && col + 1 + word.length() > WIDTH) {
                out.append('\n');
                col = 0;
            }
            if (col == 0) {
                out.append(indent).append(word);
                col = indent.length() + word.length();
            } else {
                out.append(' ').append(word);
                col += 1 + word.length();
            }
        }
        out.append('\n');
    }
}
