package io.weft.daemon.core;

import io.weft.api.v1.ChannelResponse;
import io.weft.api.v1.CallError;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.jctools.queues.SpscArrayQueue;

/**
 * One Channel stream as the broker sees it: the receivers it opened, the handles it sent to, and
 * its bounded outbox of messages and notices, drained by the stream from gRPC's {@code onReady}.
 *
 * <p>Messages may fill {@code queue} slots of the outbox; the rest is kept for notices (opened,
 * end, failed), so a receiver flooded with messages still learns that its senders ended. A notice
 * that finds even that full is dropped and counted by the router.
 */
public final class ChannelPort {

    /** Told by the broker; called on the broker thread, must not block. */
    public interface Listener {
        /** Items were pushed to the outbox. */
        void wake();
    }

    /** Outbox slots kept for notices beyond the message queue. */
    static final int NOTICE_SLOTS = 256;
    /** Receivers one stream may hold open: one client cannot take all of channel.max-receivers. */
    static final int MAX_RECEIVERS = 1024;
    /** Handles one stream's sends are tracked for (to end them when the stream goes), at most. */
    static final int MAX_SENT_TO = 4096;

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final String clientId;
    private final int queue;
    private final SpscArrayQueue<ChannelResponse> outbox;
    private final Listener listener;
    private volatile boolean closed;
    private volatile boolean finished;

    // Broker-owned.
    boolean ended;
    final Set<String> receivers = new LinkedHashSet<>();
    final Set<String> sentTo = new HashSet<>();
    /** Failure reports the outbox had no room for, added up per handle (at most MAX_SENT_TO handles). */
    final Map<String, Owed> owed = new LinkedHashMap<>();

    /** Failures of sends to one handle not yet reported. */
    static final class Owed {
        long count;
        long seq;
        CallError error;
        boolean closed;
    }

    /**
     * @param queue messages waiting for this stream at most (all its receivers together)
     */
    public ChannelPort(String clientId, int queue, Listener listener) {
        this.clientId = clientId;
        this.queue = queue;
        this.outbox = new SpscArrayQueue<>(queue + NOTICE_SLOTS);
        this.listener = listener;
    }

    /** The client's id. */
    public String clientId() {
        return clientId;
    }

    /** A number unique in this process: how envelopes from peers name this stream. */
    public long id() {
        return id;
    }

    /** Pushes a message if fewer than {@code queue} items wait. */
    boolean pushMessage(ChannelResponse message) {
        return outbox.size() < queue && outbox.offer(message);
    }

    /** Pushes a notice into any free slot. */
    boolean pushNotice(ChannelResponse notice) {
        return outbox.offer(notice);
    }

    void wake() {
        listener.wake();
    }

    /** The next item for the stream, or null. One consumer at a time (the stream serializes). */
    public ChannelResponse poll() {
        return outbox.poll();
    }

    /** Marks the stream gone (any thread); the broker closes its receivers and ends its channels. */
    public void close() {
        closed = true;
    }

    /** True once the stream is gone. Any thread. */
    public boolean isClosed() {
        return closed;
    }

    /** The broker has dealt with everything the client sent: the stream ends once its outbox is empty. */
    void finish() {
        finished = true;
        listener.wake();
    }

    /** True once the stream may end when its outbox is empty. Any thread. */
    public boolean isFinished() {
        return finished;
    }

    @Override
    public String toString() {
        return "channel stream " + clientId + "#" + id;
    }
}
