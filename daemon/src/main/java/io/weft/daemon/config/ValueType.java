package io.weft.daemon.config;

/**
 * How a setting's text becomes a typed value and back.
 *
 * <p>{@link #format} and {@link #parse} round-trip: {@code parse(format(v))} equals
 * {@code v}, which is what lets {@code --print-config} output be read back as a file.
 *
 * @param <T> the value type
 */
public interface ValueType<T> {

    /**
     * Parses and validates a value.
     *
     * @param raw the text, trimmed
     * @return the value
     * @throws IllegalArgumentException whose message says what was expected, e.g.
     *     {@code expected host:port or "off"}; the caller adds the setting and source
     */
    T parse(String raw);

    /**
     * Formats a value the way {@link #parse} reads it.
     *
     * @param value a value returned by {@link #parse}
     * @return its canonical text
     */
    String format(T value);

    /**
     * Names the accepted values for {@code --help}, e.g. {@code duration, 1ms..10s}.
     *
     * @return a short description
     */
    String describe();
}
