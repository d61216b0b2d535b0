package io.weft.daemon.config;

/**
 * Where a setting's value came from: the built-in default, a line of the config file, an
 * environment variable or a command-line flag. {@link #toString()} is the form used in
 * messages and by {@code --print-config}: {@code default}, {@code file /etc/weft/weftd.conf:12},
 * {@code env WEFT_LISTEN}, {@code flag --listen}.
 *
 * @param kind which kind of source
 * @param where the file and line, variable name or flag; empty for the default
 */
public record Source(Kind kind, String where) {

    /** The kinds of source, lowest precedence first. */
    public enum Kind {
        DEFAULT, FILE, ENV, FLAG
    }

    /** The built-in default. */
    public static final Source DEFAULT = new Source(Kind.DEFAULT, "");

    /**
     * A line of a config file.
     *
     * @param file the file as given
     * @param line 1-based line number
     * @return the source
     */
    public static Source file(String file, int line) {
        return new Source(Kind.FILE, file + ":" + line);
    }

    /**
     * An environment variable.
     *
     * @param name the variable
     * @return the source
     */
    public static Source env(String name) {
        return new Source(Kind.ENV, name);
    }

    /**
     * A command-line flag.
     *
     * @param flag the flag, with its dashes
     * @return the source
     */
    public static Source flag(String flag) {
        return new Source(Kind.FLAG, flag);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case DEFAULT -> "default";
            case FILE -> "file " + where;
            case ENV -> "env " + where;
            case FLAG -> "flag " + where;
        };
    }
}
