package io.weft.daemon.core;

import io.weft.api.v1.CallError;
import io.weft.api.v1.ServeResponse;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jctools.queues.SpscArrayQueue;

/**
 * One Serve stream as the broker sees it: a client that serves endpoints, and its bounded outbox
 * of invocations and cancels, drained by the stream from gRPC's {@code onReady}.
 *
 * <p>The outbox never overflows: the router admits at most {@code serveMaxInFlight} calls per
 * server, and each call puts at most one invocation and one cancel in it, so it is sized twice that.
 */
public final class CallServer {

    /** Told by the broker; called on the broker thread, must not block. */
    public interface Listener {
        /** Items were pushed to the outbox. */
        void wake();

        /** The registration was refused; the stream should end with this error. */
        void refused(CallError error);
    }

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final String clientId;
    private final SpscArrayQueue<ServeResponse> outbox;
    private final AtomicLong taken = new AtomicLong();
    private final Listener listener;
    private volatile boolean closed;

    // Broker-owned.
    long pushed;
    boolean registered;
    boolean ended;
    final List<String> endpoints = new ArrayList<>();
    final LinkedHashSet<PendingCall> calls = new LinkedHashSet<>();

    /**
     * @param serveMaxInFlight calls this server may have at once (the outbox holds twice that)
     */
    public CallServer(String clientId, int serveMaxInFlight, Listener listener) {
        this.clientId = clientId;
        this.outbox = new SpscArrayQueue<>(Math.max(4, 2 * serveMaxInFlight));
        this.listener = listener;
    }

    /** The client's id. */
    public String clientId() {
        return clientId;
    }

    /** A number unique in this process. */
    public long id() {
        return id;
    }

    boolean push(ServeResponse item) {
        if (!outbox.offer(item)) {
            return false;
        }
        pushed++;
        return true;
    }

    void wake() {
        listener.wake();
    }

    void refuse(CallError error) {
        listener.refused(error);
    }

    /** The next item for the stream, or null. One consumer at a time (the stream serializes). */
    public ServeResponse poll() {
        ServeResponse r = outbox.poll();
        if (r != null) {
            taken.incrementAndGet();
        }
        return r;
    }

    /** Items the stream has taken from the outbox so far: an invocation pushed as number n runs once this reaches n. */
    long taken() {
        return taken.get();
    }

    /** Marks the stream gone (any thread); the broker drops its endpoints and fails its calls. */
    public void close() {
        closed = true;
    }

    /** True once the stream is gone. Any thread. */
    public boolean isClosed() {
        return closed;
    }

    /** Items waiting now. */
    public int depth() {
        return outbox.size();
    }

    @Override
    public String toString() {
        return "server " + clientId + "#" + id;
    }
}
