package io.weft.daemon.core;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One client of the broker: a Publish stream, or the shared lane of unary calls.
 *
 * <p>Threading: {@link #queued} and {@link #closed} are shared with the gRPC threads; every other
 * field belongs to the broker thread. The quota on {@link #queued} keeps one flooding client from
 * taking the whole inbound queue; the broker's per-cycle limit and {@link #carry} keep it from
 * taking the whole broker cycle (Shrapnel's "selfishness").
 */
public final class ClientSession {

    private final String clientId;
    private final AtomicInteger queued = new AtomicInteger();
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

    /** Commands of this client admitted to the inbound queue and not yet processed. */
    public int queued() {
        return queued.get();
    }

    /** Marks the client gone: its stream ended. Commands it already queued are still applied. */
    public void close() {
        closed = true;
    }

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    boolean tryReserve(int quota) {
        if (queued.incrementAndGet() > quota) {
            queued.decrementAndGet();
            return false;
        }
        return true;
    }

    void release() {
        queued.decrementAndGet();
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
