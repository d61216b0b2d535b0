package io.weft.daemon.core;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.agrona.concurrent.IdleStrategy;

/**
 * How the broker thread idles (DESIGN §3): spin, yield, then park. While work is pending
 * elsewhere (a flush waiting for a sink, calls in flight whose deadlines the timer duty watches),
 * the parks back off in Agrona's manner, from 1 µs doubling up to 1 ms, and go on at 1 ms. With
 * nothing pending, the broker parks 1 ms at a time and, after {@code sleepAfterNs} without work,
 * sleeps deeply, up to {@code maxSleepNs}. Every park, short or deep, ends as soon as a producer
 * that queued a command {@link #wake() wakes} it: a command never waits out a park, and parks can
 * be long without making anyone late. So the short parks are spent only where something must be
 * polled: backing off after every event as well, the broker woke about nine times per event at
 * 1,000 events/s, each wake-up a chance to be preempted on 2 cores. Without the deep sleep, an idle
 * daemon would wake up about a thousand times a second.
 *
 * <p>No wake-up is lost: the broker publishes {@code sleeping} before it checks the inbound queue,
 * and a producer publishes its command before it checks {@code sleeping} (both volatile), so at
 * least one of them sees the other.
 */
public final class BrokerIdleStrategy implements IdleStrategy {

    private static final int MAX_SPINS = 100;
    private static final int MAX_YIELDS = 10;
    private static final long MIN_PARK_NS = 1_000;
    private static final long MAX_PARK_NS = 1_000_000;

    private final long sleepAfterNs;
    private final long maxSleepNs;
    private final BooleanSupplier hasWork;
    private final BooleanSupplier inboundEmpty;
    private volatile Thread owner;
    private volatile boolean sleeping;
    private long idleSinceNs;
    private boolean idle;
    private int spins;
    private int yields;
    private long parkNs = MIN_PARK_NS;

    /**
     * @param sleepAfterNs idle time after which the broker sleeps deeply
     * @param maxSleepNs the longest deep sleep (bounds how late timers and the status are)
     * @param hasWork whether work is waiting or pending (no deep sleep while it is)
     * @param inboundEmpty whether no command waits (checked after announcing a park)
     */
    public BrokerIdleStrategy(long sleepAfterNs, long maxSleepNs, BooleanSupplier hasWork, BooleanSupplier inboundEmpty) {
        this.sleepAfterNs = sleepAfterNs;
        this.maxSleepNs = maxSleepNs;
        this.hasWork = hasWork;
        this.inboundEmpty = inboundEmpty;
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
        if (owner == null) {
            owner = Thread.currentThread();
        }
        long now = System.nanoTime();
        if (!idle) {
            idle = true;
            idleSinceNs = now;
        }
        if (spins < MAX_SPINS) {
            spins++;
            Thread.onSpinWait();
        } else if (yields < MAX_YIELDS) {
            yields++;
            Thread.yield();
        } else if (hasWork.getAsBoolean()) {
            park(parkNs);
            parkNs = Math.min(parkNs << 1, MAX_PARK_NS);
        } else if (now - idleSinceNs - sleepAfterNs < 0) {
            park(MAX_PARK_NS);
        } else {
            park(maxSleepNs);
        }
    }

    private void park(long ns) {
        sleeping = true;
        if (inboundEmpty.getAsBoolean()) {
            LockSupport.parkNanos(this, ns);
        }
        sleeping = false;
    }

    @Override
    public void reset() {
        idle = false;
        spins = 0;
        yields = 0;
        parkNs = MIN_PARK_NS;
    }

    /** Any thread, after queueing work: ends the broker's park, if it is parked. Never blocks. */
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
