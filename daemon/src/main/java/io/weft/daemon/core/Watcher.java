package io.weft.daemon.core;

import io.weft.api.v1.Lagged;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.view.ObjectSelector;
import io.weft.daemon.view.Projector;
import java.util.concurrent.atomic.AtomicLong;
import org.jctools.queues.MpmcArrayQueue;

/**
 * One Watch stream's subscription and its bounded outbox.
 *
 * <p>The broker {@link #push pushes}; when the outbox is full it drops the oldest item and counts
 * it, so a slow watcher only ever hurts itself. The stream's consumer {@link #poll polls} from the
 * gRPC side and reports what was lost with a {@link Lagged} marker before the next item. The outbox
 * is multi-consumer only so that the producer may evict the oldest item itself.
 */
public final class Watcher {

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final WatchMode mode;
    private final ObjectSelector selector;
    private final Projector projector;
    private final boolean includeLive;
    private final MpmcArrayQueue<WatchResponse> outbox;
    private final AtomicLong lagged = new AtomicLong();
    private final AtomicLong laggedTotal = new AtomicLong();
    private final Runnable wake;
    private volatile boolean cancelled;
    private volatile boolean refused;

    /**
     * @param capacity items buffered before the oldest are dropped (at least 2)
     * @param wake called after items were pushed (on the broker thread) or {@linkplain #lost lost}
     *     (on any thread); must not block
     */
    public Watcher(
            WatchMode mode,
            ObjectSelector selector,
            Projector projector,
            boolean includeLive,
            int capacity,
            Runnable wake) {
        this.mode = mode == WatchMode.WATCH_MODE_UNSPECIFIED ? WatchMode.WATCH_MODE_MESSAGES : mode;
        this.selector = selector;
        this.projector = projector;
        this.includeLive = includeLive;
        this.outbox = new MpmcArrayQueue<>(Math.max(2, capacity));
        this.wake = wake;
    }

    void push(WatchResponse item) {
        while (!outbox.offer(item)) {
            if (outbox.poll() != null) {
                lagged.incrementAndGet();
                laggedTotal.incrementAndGet();
            }
        }
    }

    void wake() {
        wake.run();
    }

    /**
     * Items this watcher will never see, lost before they reached the broker (a BUS watch's events
     * that RabbitMQ or a full inbound queue dropped): reported with the next {@link Lagged} marker.
     * Any thread.
     */
    public void lost(long items) {
        lagged.addAndGet(items);
        laggedTotal.addAndGet(items);
        wake.run();
    }

    /**
     * The next item for the stream: a {@link Lagged} marker when items were dropped since the last
     * call, else the oldest buffered item, else null.
     */
    public WatchResponse poll() {
        long lost = lagged.getAndSet(0);
        if (lost > 0) {
            return WatchResponse.newBuilder().setLagged(Lagged.newBuilder().setDropped(lost)).build();
        }
        return outbox.poll();
    }

    /** Stops the subscription; the broker forgets it on its next pass. */
    public void cancel() {
        cancelled = true;
    }

    /** True once cancelled by its stream or refused by the broker. Any thread. */
    public boolean isCancelled() {
        return cancelled;
    }

    /** Broker thread: the broker serves {@code watch.max} watchers already. */
    void refuse() {
        refused = true;
        cancelled = true;
    }

    /** True when the broker refused this watcher; the stream should end with TOO_MANY_WATCHERS. */
    public boolean isRefused() {
        return refused;
    }

    /** A number unique in this process, for introspection. */
    public long id() {
        return id;
    }

    WatchMode mode() {
        return mode;
    }

    ObjectSelector selector() {
        return selector;
    }

    Projector projector() {
        return projector;
    }

    boolean includeLive() {
        return includeLive;
    }

    /** Items buffered now. */
    public int depth() {
        return outbox.size();
    }

    /** The outbox's capacity. */
    public int capacity() {
        return outbox.capacity();
    }

    /** Items dropped because this watcher fell behind, since it started. */
    public long laggedTotal() {
        return laggedTotal.get();
    }
}
