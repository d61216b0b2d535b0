package io.weft.daemon.core;

/**
 * The broker's time source, injected so that the broker can run on a test thread with a fake clock.
 * Monotonic time ({@link #nanoTime()}) drives deadlines and TTLs; wall time ({@link #epochNanos()})
 * stamps events that arrive without a time.
 */
public interface Clock {

    /** Monotonic nanoseconds; only differences are meaningful. Compare as {@code a - b < 0}. */
    long nanoTime();

    /** Wall-clock time in nanoseconds since the Unix epoch. */
    long epochNanos();

    /** The system clock. */
    static Clock system() {
        return SystemClock.INSTANCE;
    }

    /** The JVM's clocks. */
    enum SystemClock implements Clock {
        INSTANCE;

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public long epochNanos() {
            java.time.Instant now = java.time.Instant.now();
            return now.getEpochSecond() * 1_000_000_000L + now.getNano();
        }
    }
}
