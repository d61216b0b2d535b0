package io.weft.daemon.cli;

import io.weft.daemon.config.ValueType;
import io.weft.daemon.config.ValueTypes;
import java.time.Duration;
import picocli.CommandLine;

/** Durations on the command line: the daemon's config syntax ({@code 250ms}, {@code 5s}, {@code 2m}). */
final class DurationOption implements CommandLine.ITypeConverter<Duration> {

    private static final ValueType<Duration> TYPE = ValueTypes.duration(Duration.ofMillis(1), Duration.ofHours(24));

    @Override
    public Duration convert(String value) {
        try {
            return TYPE.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }

    /**
     * Formats a duration compactly, e.g. {@code 5s}, {@code 1h2m3s}, {@code 250ms}.
     *
     * @param d a non-negative duration
     * @return the text
     */
    static String format(Duration d) {
        if (d.compareTo(Duration.ofSeconds(1)) < 0) {
            return d.toMillis() + "ms";
        }
        long s = d.getSeconds();
        StringBuilder out = new StringBuilder();
        if (s >= 86_400) {
            out.append(s / 86_400).append('d');
        }
        if (s >= 3600) {
            out.append(s % 86_400 / 3600).append('h');
        }
        if (s >= 60) {
            out.append(s % 3600 / 60).append('m');
        }
        return out.append(s % 60).append('s').toString();
    }
}
