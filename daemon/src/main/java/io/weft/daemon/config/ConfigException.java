package io.weft.daemon.config;

import java.util.List;

/**
 * The configuration is invalid. Carries every problem found, not just the first; each
 * names the setting, the offending value and where it came from, e.g.
 * {@code listen = "abc" (env WEFT_LISTEN): expected host:port ... or "off"}.
 */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;
    private final List<String> warnings;

    /**
     * Creates the exception.
     *
     * @param problems one message per problem, at least one
     * @param warnings warnings found along the way (unknown variables...)
     */
    public ConfigException(List<String> problems, List<String> warnings) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
        this.warnings = List.copyOf(warnings);
    }

    /** Every problem, one message each, in the order found. */
    public List<String> problems() {
        return problems;
    }

    /** Warnings found while loading; they do not make the configuration invalid. */
    public List<String> warnings() {
        return warnings;
    }
}
