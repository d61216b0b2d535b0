package io.weft.daemon.core;

import io.weft.api.v1.QueueInfo;
import java.time.Duration;

/**
 * A destination of every applied event (the JSON-lines file now; the bus later). Each sink owns a
 * bounded queue and its own thread; the broker only offers.
 */
public interface EventSink {

    /** A short name for logs and {@code AdminService.Queues} ("file", "bus"). */
    String name();

    /**
     * Offers an event; called on the broker thread only; must not block.
     *
     * @return false when the sink's queue is full (the broker counts the drop)
     */
    boolean offer(SinkEvent event);

    /**
     * The highest {@link SinkEvent#seq} such that every event up to it that this sink accepted is
     * done (written, confirmed or spooled). Any thread.
     */
    long confirmedSeq();

    /** Depth, capacity and drops of this sink's queue. Any thread. */
    QueueInfo queueInfo();

    /** Starts the sink's thread. */
    void start();

    /**
     * Finishes what is queued within {@code grace}, then stops.
     *
     * @return events left undone (lost) when the grace ran out
     */
    long close(Duration grace);
}
