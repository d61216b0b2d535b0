package io.weft.daemon.stats;

/**
 * The bounds of the statistics registry. Together they bound its memory: at most {@code maxValues}
 * stored values (scalars, record values, derived values), each at most {@code maxTextBytes} of text
 * plus about 150 bytes of overhead, so about {@code maxValues × (150 + maxTextBytes)} in the worst
 * case and about 150 bytes a value for numbers.
 *
 * @param maxNamespaces namespaces at most
 * @param maxEntries entries of one namespace at most
 * @param maxRecords records of one collection at most (map collections refuse more; lists drop
 *     their oldest beyond their length)
 * @param defaultListLength a list collection's length when its first append names none
 * @param maxValues stored values in all namespaces at most
 * @param maxTextBytes longest string value
 */
public record StatsLimits(
        int maxNamespaces, int maxEntries, int maxRecords, int defaultListLength, int maxValues, int maxTextBytes) {

    /** The defaults of the settings. */
    public static final StatsLimits DEFAULTS = new StatsLimits(256, 1024, 10_000, 100, 500_000, 1024);
}
