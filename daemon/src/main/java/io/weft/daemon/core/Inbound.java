package io.weft.daemon.core;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.jctools.queues.MpscArrayQueue;

/**
 * The bounded multi-producer queue from the gRPC threads to the broker thread.
 *
 * <p>{@link #offer} never blocks: it refuses when the queue is full or when the client already has
 * its quota of commands queued, and counts each refusal by cause.
 */
public final class Inbound {

    /** Why an offer was refused. */
    public enum Refusal {
        /** Admitted. */
        NONE,
        /** The whole queue is full. */
        FULL,
        /** This client has {@code clientQuota} commands queued already. */
        CLIENT_QUOTA,
    }

    private final MpscArrayQueue<Command> queue;
    private final int capacity;
    private final int clientQuota;
    private final LongAdder refusedFull = new LongAdder();
    private final LongAdder refusedQuota = new LongAdder();
    private volatile Runnable onOffer = () -> { };

    /**
     * @param capacity commands the queue holds (rounded up to a power of two by the queue)
     * @param clientQuota commands one client may have queued at once
     */
    public Inbound(int capacity, int clientQuota) {
        this.queue = new MpscArrayQueue<>(capacity);
        this.capacity = queue.capacity();
        this.clientQuota = clientQuota;
    }

    /** Offers a command from any thread; never blocks. */
    public Refusal offer(Command command) {
        ClientSession session = command.session();
        if (!session.tryReserve(clientQuota)) {
            refusedQuota.increment();
            return Refusal.CLIENT_QUOTA;
        }
        if (!queue.offer(command)) {
            session.release();
            refusedFull.increment();
            return Refusal.FULL;
        }
        onOffer.run();
        return Refusal.NONE;
    }

    /**
     * Sets what runs after each admitted command (the broker's wake-up). Must not block.
     *
     * @param action called on the offering thread
     */
    public void onOffer(Runnable action) {
        this.onOffer = action;
    }

    int drain(Consumer<Command> consumer, int limit) {
        return queue.drain(consumer::accept, limit);
    }

    /** True when no command is waiting. Any thread. */
    public boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Commands waiting now (approximate while producers run). */
    public int depth() {
        return queue.size();
    }

    /** The queue's capacity. */
    public int capacity() {
        return capacity;
    }

    /** Offers refused because the queue was full. */
    public long refusedFull() {
        return refusedFull.sum();
    }

    /** Offers refused because the client had its quota queued. */
    public long refusedQuota() {
        return refusedQuota.sum();
    }
}
