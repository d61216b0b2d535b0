package io.weft.daemon.core;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;

/**
 * The bounded multi-producer queue from the gRPC threads to the broker thread.
 *
 * <p>{@link #offer} never blocks: it refuses when the queue is full or when the client already has
 * its quota queued, and counts each refusal by cause. Both bounds are in units of {@link
 * Command#weight()}, so that a batch of events counts as its events: the memory the queue can hold
 * is bounded by events, not by messages of any size. A command is admitted while the queue (or
 * the client) is under its bound, so each may overshoot by one command. Publish streams do not
 * run into the client quota: they {@linkplain ClientSession#pause pause} reading at it.
 */
public final class Inbound {

    /** Why an offer was refused. */
    public enum Refusal {
        /** Admitted. */
        NONE,
        /** The whole queue is full. */
        FULL,
        /** This client has {@code clientQuota} queued already. */
        CLIENT_QUOTA,
    }

    private final MpscArrayQueue<Command> queue;
    private final int capacity;
    private final int clientQuota;
    private final AtomicLong queuedWeight = new AtomicLong();
    private final LongAdder refusedFull = new LongAdder();
    private final LongAdder refusedQuota = new LongAdder();
    private volatile Runnable onOffer = () -> { };

    /**
     * @param capacity weight the queue holds (rounded up to a power of two)
     * @param clientQuota weight one client may have queued at once
     */
    public Inbound(int capacity, int clientQuota) {
        this.queue = new MpscArrayQueue<>(capacity);
        this.capacity = queue.capacity();
        this.clientQuota = clientQuota;
    }

    /** Offers a command from any thread; never blocks. */
    public Refusal offer(Command command) {
        ClientSession session = command.session();
        int weight = command.weight();
        if (!session.tryReserve(weight, clientQuota)) {
            refusedQuota.increment();
            return Refusal.CLIENT_QUOTA;
        }
        // Every command weighs at least 1 and is admitted only under the capacity: the queue's
        // slots (as many as the capacity) cannot run out first.
        if (queuedWeight.getAndAdd(weight) >= capacity || !queue.offer(command)) {
            queuedWeight.addAndGet(-weight);
            session.release(weight, clientQuota);
            refusedFull.increment();
            return Refusal.FULL;
        }
        onOffer.run();
        return Refusal.NONE;
    }

    /**
     * The broker has processed {@code command}: its weight leaves the bounds, and a stream that
     * paused for its client's quota may be resumed. Broker thread.
     */
    void processed(Command command) {
        int weight = command.weight();
        queuedWeight.addAndGet(-weight);
        command.session().release(weight, clientQuota);
    }

    /** The weight one client may have queued at once. */
    public int clientQuota() {
        return clientQuota;
    }

    /**
     * Sets what runs after each admitted command (the broker's wake-up). Must not block.
     *
     * @param action called on the offering thread
     */
    public void onOffer(Runnable action) {
        this.onOffer = action;
    }

    int drain(MessagePassingQueue.Consumer<Command> consumer, int limit) {
        return queue.drain(consumer, limit);
    }

    /** True when no command is waiting. Any thread. */
    public boolean isEmpty() {
        return queue.isEmpty();
    }

    /**
     * Weight admitted and not yet processed (approximate while producers run): commands waiting
     * in the queue and those the broker carries for fairness.
     */
    public long depth() {
        return queuedWeight.get();
    }

    /** The queue's capacity, in weight. */
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
