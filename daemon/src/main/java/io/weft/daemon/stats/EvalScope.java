package io.weft.daemon.stats;

/**
 * What an expression can see while it is evaluated: the stored values of its scope (a namespace or
 * a record), the clocks, counter rates, and (namespace scope only) the namespace's collections.
 */
interface EvalScope {

    /** Wall time in seconds since the Unix epoch. */
    double now();

    /** Seconds since the daemon started. */
    double uptime();

    /**
     * The stored number named {@code name} in this scope.
     *
     * @throws EvalException when there is none, it is not a number, or it is derived
     */
    double number(String name);

    /**
     * The per-second rate of the counter {@code name} between reports.
     *
     * @throws EvalException when there is no such number
     */
    double rate(String name);

    /**
     * Folds the numbers named {@code key} of every record of the collection {@code collection}.
     *
     * @throws EvalException when the collection does not exist (records lacking the key are skipped)
     */
    void aggregate(String collection, String key, Aggregate into);

    /** The number of records of a collection. */
    int count(String collection);

    /** An accumulator of one aggregate function. */
    final class Aggregate {
        double sum;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        long n;

        void add(double v) {
            sum += v;
            n++;
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
        }
    }
}
