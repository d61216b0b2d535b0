package io.weft.daemon.core;

/** A clock the test moves by hand. */
final class FakeClock implements Clock {
    long nanoTime = 1_000_000_000L;
    long epochNanos = 1_700_000_000_000_000_000L;
    /** When set, every read of {@link #nanoTime()} moves time on by this much (a slow duty). */
    long autoAdvanceNs;

    void advanceNs(long ns) {
        nanoTime += ns;
        epochNanos += ns;
    }

    @Override
    public long nanoTime() {
        nanoTime += autoAdvanceNs;
        return nanoTime;
    }

    @Override
    public long epochNanos() {
        return epochNanos;
    }
}
