package io.weft.daemon.core;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * How the broker thread idles (DESIGN §3): while work is recent, Agrona's backoff — spin, yield,
 * then park from 1 µs up to 1 ms — so a burst after a short pause is picked up within a
 * millisecond. After {@code sleepAfterNs} without work it sleeps up to {@code maxSleepNs}; a
 * producer that queues a command {@link #wake() wakes} it at once. Without the deep sleep, parking
 * 1 ms at a time costs an idle daemon about a thousand wake-ups a second.
 *
 * <p>No wake-up is lost: the broker publishes {@code sleeping} before it checks for work, and a
 * producer publishes its command before it checks {@code sleeping} (both volatile), so at least
 * one of them sees the other.
 */
public final class BrokerIdleStrategy implements IdleStrategy {

    private final BackoffIdleStrategy backoff = new BackoffIdleStrategy(100, 10, 1_000, 1_000_000);
    private final long sleepAfterNs;
    private final long maxSleepNs;
    private final BooleanSupplier hasWork;
    private volatile Thread owner;
    private volatile boolean sleeping;
    private long idleSinceNs;
    private boolean idle;

    /**
     * @param sleepAfterNs idle time after which the broker sleeps deeply
     * @param maxSleepNs the longest deep sleep (bounds how late timers and the status are)
     * @param hasWork whether work is waiting or pending (checked after announcing sleep)
     */
    public BrokerIdleStrategy(long sleepAfterNs, long maxSleepNs, BooleanSupplier hasWork) {
        this.sleepAfterNs = sleepAfterNs;
        this.maxSleepNs = maxSleepNs;
        this.hasWork = hasWork;
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            reset();
            return;
        }
        idle();
    }

    @Override
    public void idle() {
        long now = System.nanoTime();
        if (!idle) {
            idle = true;
            idleSinceNs = now;
        }
        if (now - idleSinceNs - sleepAfterNs < 0) {
            backoff.idle();
            return;
        }
        if (owner == null) {
            owner = Thread.currentThread();
        }
        sleeping = true;
        if (hasWork.getAsBoolean()) {
            // Work is waiting on something else (a sink confirming a flush): keep backing off
            // rather than sleep, and rather than spin.
            sleeping = false;
            backoff.idle();
            return;
        }
        LockSupport.parkNanos(this, maxSleepNs);
        sleeping = false;
    }

    @Override
    public void reset() {
        idle = false;
        backoff.reset();
    }

    /** Any thread, after queueing work: wakes the broker if it sleeps deeply. Never blocks. */
    public void wake() {
        if (sleeping) {
            Thread t = owner;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    boolean isSleeping() {
        return sleeping;
    }

    @Override
    public String alias() {
        return "weft-broker";
    }
}
