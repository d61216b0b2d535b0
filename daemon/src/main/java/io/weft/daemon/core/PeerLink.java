package io.weft.daemon.core;

import io.weft.api.v1.Envelope;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.concurrent.atomic.AtomicLong;
import org.jctools.queues.SpscArrayQueue;

/**
 * One peer link as the broker sees it (DESIGN §8, "Peers"): the verified peer, its bounded outbox
 * of envelopes (drained by the link's stream from gRPC's {@code onReady}), and what was advertised
 * on it. The transport ({@code peer/}) fills in the peer's identity before the broker hears of the
 * link, and stamps {@link #heard()} on every envelope received.
 */
public final class PeerLink {

    /** The transport side; called on the broker thread, must not block. */
    public interface Transport {
        /** Envelopes were pushed to the outbox. */
        void wake();

        /** The broker gives up on the link (silent too long, outbox overflow). */
        void close(String why);
    }

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final String peerId;
    private final long peerEpoch;
    private final boolean dialed;
    private final String address;
    private final SpscArrayQueue<Envelope> outbox;
    private final Transport transport;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private volatile long lastHeardNs;
    private volatile boolean closed;

    // Broker-owned.
    boolean up;
    boolean down;
    long lastPushNs;
    long overflows;
    /** Names advertised on this link, with the hop count sent. */
    final HashMap<String, Integer> advertised = new HashMap<>();
    /** Calls forwarded on this link or that arrived on it. */
    final LinkedHashSet<PendingCall> calls = new LinkedHashSet<>();

    /**
     * @param peerId the peer's daemon id, verified against its certificate
     * @param peerEpoch the epoch in the peer's hello
     * @param dialed true when this daemon dialled the peer
     * @param address the address dialled or accepted from
     */
    public PeerLink(String peerId, long peerEpoch, boolean dialed, String address, int capacity, Transport transport,
            long nowNs) {
        this.peerId = peerId;
        this.peerEpoch = peerEpoch;
        this.dialed = dialed;
        this.address = address;
        this.outbox = new SpscArrayQueue<>(capacity);
        this.transport = transport;
        this.lastHeardNs = nowNs;
    }

    public String peerId() {
        return peerId;
    }

    public long peerEpoch() {
        return peerEpoch;
    }

    public boolean dialed() {
        return dialed;
    }

    public String address() {
        return address;
    }

    public long id() {
        return id;
    }

    boolean push(Envelope e, long nowNs) {
        if (!outbox.offer(e)) {
            overflows++;
            return false;
        }
        lastPushNs = nowNs;
        return true;
    }

    void wake() {
        transport.wake();
    }

    void closeTransport(String why) {
        transport.close(why);
    }

    /** The next envelope to send, or null. One consumer at a time (the stream serializes). */
    public Envelope poll() {
        Envelope e = outbox.poll();
        if (e != null) {
            sent.incrementAndGet();
        }
        return e;
    }

    /** Any thread: an envelope arrived now. */
    public void heard(long nowNs) {
        lastHeardNs = nowNs;
        received.incrementAndGet();
    }

    long lastHeardNs() {
        return lastHeardNs;
    }

    /** Marks the stream gone (any thread). */
    public void close() {
        closed = true;
    }

    public boolean isClosed() {
        return closed;
    }

    public int depth() {
        return outbox.size();
    }

    public int capacity() {
        return outbox.capacity();
    }

    public long sent() {
        return sent.get();
    }

    public long received() {
        return received.get();
    }

    @Override
    public String toString() {
        return "link " + peerId + "#" + id + (dialed ? " (dialed " : " (accepted ") + address + ")";
    }
}
