package io.weft.daemon.core;

/** A clock the test moves by hand. */
final class FakeClock implements Clock {
    long nanoTime = 1_000_000_000L;
    long epochNanos = 1_700_000_000_000_000_000L;

    void advanceNs(long ns) {
        nanoTime += ns;
        epochNanos += ns;
    }

    @Override
    public long nanoTime() {
        return nanoTime;
    }

    @Override
    public long epochNanos() {
        return epochNanos;
    }
}
