package io.weft.daemon.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition by polling it until a deadline: the one way tests here wait for something
 * (never a bare sleep). Shared by the daemon's and the SDKs' tests through the daemon's test-jar.
 */
public final class Poll {

    /** The deadline when a test names none. */
    public static final Duration DEFAULT = Duration.ofSeconds(10);
    private static final long INTERVAL_MS = 5;

    private Poll() {}

    /** Polls until {@code condition} holds, for at most {@link #DEFAULT}. */
    public static void until(BooleanSupplier condition, Supplier<String> what) {
        until(DEFAULT, condition, what);
    }

    /** Polls until {@code condition} holds, for at most {@code timeout}. */
    public static void until(Duration timeout, BooleanSupplier condition, String what) {
        until(timeout, condition, () -> what);
    }

    /**
     * Polls until {@code condition} holds.
     *
     * @throws AssertionError naming {@code what} when {@code timeout} passes first
     */
    public static void until(Duration timeout, BooleanSupplier condition, Supplier<String> what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what.get());
            }
            try {
                Thread.sleep(INTERVAL_MS); // the poll interval, not a wait for the condition
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for: " + what.get(), e);
            }
        }
    }
}
