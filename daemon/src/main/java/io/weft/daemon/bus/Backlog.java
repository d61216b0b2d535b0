package io.weft.daemon.bus;

import io.weft.api.v1.BusEvent;
import io.weft.daemon.core.SinkEvent;
import java.io.IOException;
import org.jctools.queues.SpscArrayQueue;

/**
 * Events the publisher has taken from its queue and the broker has not confirmed yet, in order.
 * Publishing reads them with {@link #peek}/{@link #advance}; confirms {@link #release} them by
 * position; a lost connection {@link #rewind}s reading to the oldest unconfirmed one. Used by the
 * publisher thread only.
 */
interface Backlog {

    /** Moves events from the publisher's queue into the backlog; returns how many it took. */
    int take(SpscArrayQueue<SinkEvent> queue, int limit) throws IOException;

    /** True when {@link #take} can take more now. */
    boolean hasRoom();

    /** The next event to publish, or null when all were published. */
    BusEvent peek() throws IOException;

    /** Marks the peeked event published. */
    void advance();

    /** The position after the last event {@link #advance}d past. */
    long position();

    /** The broker confirmed every event before {@code position}. */
    void release(long position, int events) throws IOException;

    /** Publishing starts again at the oldest unconfirmed event. */
    void rewind();

    /** Events taken and not yet confirmed. */
    long depth();

    /** The highest sink seq such that every event up to it is done: confirmed, spooled or counted lost. */
    long doneSeq();

    /** True when nothing taken is waiting for the broker (the spool counts as done only for {@link #doneSeq}). */
    boolean empty();

    /** Makes what was taken durable where the backlog can (the spool); called after a round of work. */
    void sync(long nowNs);

    /** Releases files. */
    void close() throws IOException;

    /** Converts an applied event to the bus's record: the object's headers filled in. */
    static BusEvent toBusEvent(SinkEvent e) {
        BusEvent.Builder b = BusEvent.newBuilder().setEndState(e.endState()).setElapsedSeconds(e.elapsedSeconds());
        if (e.event().getHeadersCount() == 0 && !e.headers().isEmpty()) {
            b.setEvent(e.event().toBuilder().putAllHeaders(e.headers()));
        } else {
            b.setEvent(e.event());
        }
        return b.build();
    }
}
