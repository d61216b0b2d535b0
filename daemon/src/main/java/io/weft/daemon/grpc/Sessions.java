package io.weft.daemon.grpc;

import io.weft.daemon.core.ClientSession;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The open Publish streams, by client id, and the shared session of unary calls. Also the drain
 * gate: once {@link #beginDrain()} was called, new work is refused with SHUTTING_DOWN and open
 * streams are ended.
 */
public final class Sessions {

    private final ConcurrentHashMap<PublishStream, Boolean> open = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ClientSession> byClientId = new ConcurrentHashMap<>();
    private final ClientSession unary = new ClientSession("unary");
    private final AtomicLong anonymous = new AtomicLong();
    private final AtomicBoolean draining = new AtomicBoolean();

    /** The lane of PublishEvents and unary Flush calls. */
    public ClientSession unary() {
        return unary;
    }

    ClientSession open(PublishStream stream, String clientId) {
        String id = clientId.isEmpty() ? "stream-" + anonymous.incrementAndGet() : clientId;
        ClientSession s = new ClientSession(id);
        open.put(stream, Boolean.TRUE);
        byClientId.put(id, s);
        return s;
    }

    void closed(PublishStream stream, ClientSession session) {
        open.remove(stream);
        if (session != null) {
            session.close();
            byClientId.remove(session.clientId(), session);
        }
    }

    /** The session of the newest open stream with this client id, or null. */
    ClientSession find(String clientId) {
        return byClientId.get(clientId);
    }

    /** Open Publish streams now. */
    public int openStreams() {
        return open.size();
    }

    /** True once the daemon started draining. */
    public boolean isDraining() {
        return draining.get();
    }

    /** Refuses new work from now on and ends every open Publish stream with SHUTTING_DOWN. */
    public void beginDrain() {
        if (draining.compareAndSet(false, true)) {
            Collection<PublishStream> streams = open.keySet();
            for (PublishStream s : streams) {
                s.endForShutdown();
            }
        }
    }
}
