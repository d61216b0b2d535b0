package io.weft.daemon.config;

import java.util.Map;
import java.util.TreeSet;

/**
 * The configuration reference (docs/CONFIGURATION.md), generated from the catalog
 * {@link Settings} so that it cannot drift from the code: {@code weftd --print-config-reference}
 * prints it, and {@code ConfigReferenceTest} fails when the committed file differs.
 */
public final class ConfigReference {

    /** The command that regenerates the committed file, from the repository root. */
    public static final String REGENERATE = "mvn -q -B -ntp -pl daemon -am -DskipTests package"
            + " && daemon/target/weftd --print-config-reference > docs/CONFIGURATION.md";

    /** Variables that are not settings but that weftd, its launchers or its clients read. */
    private static final Map<String, String> OTHER_ENV = Map.of(
            "WEFT_CONFIG", "the config file, as `--config=PATH` (the flag wins); unset: built-in defaults only",
            "WEFT_ADDR", "read by the SDKs and the `weft` CLI, not by weftd: the daemon's address"
                    + " (`unix:///run/weft/weftd.sock` or `host:port`)",
            "WEFT_JAVA_OPTS", "the launchers' JVM options, replacing their defaults (heap, collector)",
            "JAVA_OPTS", "JVM options appended to the launchers' defaults",
            "NOTIFY_SOCKET", "set by systemd for a `Type=notify` unit: weftd reports `READY=1`,"
                    + " `RELOADING=1` and `STOPPING=1` there (a path, or `@name` in the abstract namespace)");

    private ConfigReference() {
    }

    /**
     * The reference as Markdown.
     *
     * @return the text, ending with a newline
     */
    public static String markdown() {
        StringBuilder out = new StringBuilder();
        out.append("# weftd configuration reference\n\n");
        out.append("<!-- Generated from daemon/src/main/java/io/weft/daemon/config/Settings.java by"
                + " `weftd --print-config-reference`. Do not edit: change the catalog and regenerate with\n");
        out.append("     ").append(REGENERATE).append("\n-->\n\n");
        out.append("Every setting has a default: `weftd` with no configuration runs. A setting is given, highest"
                + " precedence first, as a flag `--KEY=VALUE`, as an environment variable (`WEFT_` and the key"
                + " upper-cased, `.` and `-` turned into `_`; an empty variable counts as unset), as a line"
                + " `KEY = VALUE` in the config file (`--config=PATH` or `WEFT_CONFIG`), or not at all.\n\n");
        out.append("The config file has one `key = value` per line; `#` at the start of a line, or after"
                + " whitespace, starts a comment; quote a value (`\"...\"`) that contains `#` or `\"`. Durations"
                + " take a unit (`250ms`, `5s`, `2m`, `1h`); sizes take `KiB`, `MiB`, `GiB`, `TiB` or are plain"
                + " bytes. `weftd --check-config` validates everything and names the setting, the source and"
                + " both sides of a conflict; `weftd --print-config` prints the effective configuration with"
                + " the source of each value.\n\n");
        out.append("**On SIGHUP** (`systemctl reload weftd`), weftd reads the configuration again and applies"
                + " the settings marked *reloads*; the others keep their running value until a restart. One"
                + " `msg=reloaded` log line names what was applied (`applied=`) and what changed but needs a"
                + " restart (`need_restart=`); an invalid configuration changes nothing"
                + " (`msg=\"reload refused ...\"`).\n\n");
        out.append("## Settings\n\n");
        out.append("| setting | default | environment | on SIGHUP | values | meaning |\n");
        out.append("|---|---|---|---|---|---|\n");
        for (Setting<?> s : Settings.ALL) {
            out.append("| `").append(cell(s.key())).append("` | ")
                    .append(s.computedDefault() ? "computed (see meaning)" : "`" + cell(s.defaultText()) + "`")
                    .append(" | `").append(s.env()).append("` | ")
                    .append(s.reloadable() ? "reloads" : "restart")
                    .append(" | ").append(cell(s.type().describe()))
                    .append(" | ").append(cell(s.description())).append(" |\n");
        }
        out.append("\n## Other environment variables\n\n");
        for (String name : new TreeSet<>(OTHER_ENV.keySet())) {
            out.append("- `").append(name).append("`: ").append(OTHER_ENV.get(name)).append('\n');
        }
        return out.toString();
    }

    /** Escapes a table cell: a pipe would end it, and {@code <file>} would be taken for HTML. */
    private static String cell(String text) {
        return text.replace("|", "\\|").replace("<", "&lt;");
    }
}
