package io.weft.daemon.core;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One client of the broker: a Publish stream, or the shared lane of unary calls.
 *
 * <p>Threading: {@link #queued}, the pause and {@link #closed} are shared with the gRPC threads;
 * every other field belongs to the broker thread. The quota on {@link #queued} (in units of {@link
 * Command#weight()}: events for a batch) keeps one flooding client from taking the whole inbound
 * queue; a stream that reaches it {@linkplain #pause pauses} reading until the broker has worked
 * the client down to half of it. The broker's per-cycle limit and {@link #carry} keep a client
 * from taking the whole broker cycle (Shrapnel's "selfishness").
 */
public final class ClientSession {

    private final String clientId;
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicBoolean paused = new AtomicBoolean();
    private volatile Runnable resume;
    private volatile boolean closed;

    // Broker-owned from here on.
    final ArrayDeque<Command> carry = new ArrayDeque<>();
    long cycleStamp = -1;
    int takenThisCycle;
    boolean inCarryList;

    /**
     * @param clientId the name the client gave, or a generated one; used in logs and for Flush
     */
    public ClientSession(String clientId) {
        this.clientId = clientId;
    }

    /** The client's name. */
    public String clientId() {
        return clientId;
    }

    /** Weight of this client's commands admitted to the inbound queue and not yet processed. */
    public int queued() {
        return queued.get();
    }

    /**
     * Called by a stream that will read no further message while this client has {@code quota}
     * or more queued: true when it must wait, and then {@code resume} runs once (on the broker
     * thread, so it must only hand over) when the broker has brought the client under half the
     * quota; false when it may read on now.
     */
    public boolean pause(int quota, Runnable resume) {
        if (queued.get() < quota) {
            return false;
        }
        this.resume = resume;
        paused.set(true);
        // The broker may have released below the low-water mark before it could see the flag.
        return queued.get() >= lowWater(quota) || !paused.compareAndSet(true, false);
    }

    /** True while a stream of this client waits for the broker (see {@link #pause}). */
    public boolean isPaused() {
        return paused.get();
    }

    /** Marks the client gone: its stream ended. Commands it already queued are still applied. */
    public void close() {
        closed = true;
    }

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Admits {@code weight} while the client has less than {@code quota} queued (it may overshoot by one command). */
    boolean tryReserve(int weight, int quota) {
        if (queued.getAndAdd(weight) >= quota) {
            queued.addAndGet(-weight);
            return false;
        }
        return true;
    }

    void release(int weight, int quota) {
        if (queued.addAndGet(-weight) < lowWater(quota) && paused.get() && paused.compareAndSet(true, false)) {
            resume.run();
        }
    }

    /** A paused stream reads on below half its quota: not after every batch the broker applies. */
    private static int lowWater(int quota) {
        return (quota + 1) / 2;
    }

    int takeTurn(long cycle) {
        if (cycleStamp != cycle) {
            cycleStamp = cycle;
            takenThisCycle = 0;
        }
        return takenThisCycle++;
    }

    @Override
    public String toString() {
        return "client " + clientId;
    }
}
