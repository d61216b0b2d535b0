package io.weft.daemon.peer;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.EnvelopeKind;
import io.weft.api.v1.Hello;
import io.weft.daemon.core.Inbound;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;

/** What every link stream of this daemon shares: identity, the broker's queue, bounds, counters. */
public final class Links {

    private final String selfId;
    private final long epoch;
    private final String version;
    private final Inbound inbound;
    private final Executor executor;
    private final int capacity;
    private final boolean plaintextAllowed;
    private final Function<String, StatusRuntimeException> authError;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder authFailures = new LongAdder();

    /**
     * @param executor writes to the streams (never the broker thread)
     * @param capacity each link's outbox
     * @param authError the status a refused hello ends the stream with (UNAUTHENTICATED/PEER_AUTH_FAILED)
     */
    public Links(String selfId, long epoch, String version, Inbound inbound, Executor executor, int capacity,
            boolean plaintextAllowed, Function<String, StatusRuntimeException> authError) {
        this.selfId = selfId;
        this.epoch = epoch;
        this.version = version;
        this.inbound = inbound;
        this.executor = executor;
        this.capacity = capacity;
        this.plaintextAllowed = plaintextAllowed;
        this.authError = authError;
    }

    /** The request side of a link a peer opened here. */
    public StreamObserver<Envelope> accept(ServerCallStreamObserver<Envelope> out, String remoteAddress,
            Supplier<String> certifiedId) {
        LinkStream s = new LinkStream(this, false, remoteAddress, certifiedId, () -> { });
        s.attach(out);
        out.setOnCancelHandler(() -> s.onError(io.grpc.Status.CANCELLED.asRuntimeException()));
        return s;
    }

    LinkStream dial(String address, Supplier<String> certifiedId, Runnable onEnd) {
        return new LinkStream(this, true, address, certifiedId, onEnd);
    }

    Envelope hello() {
        return Envelope.newBuilder().setKind(EnvelopeKind.ENVELOPE_KIND_HELLO).setSrc(selfId).setAuth(selfId)
                .setEpoch(epoch).setHello(Hello.newBuilder().setDaemonId(selfId).setEpoch(epoch).setVersion(version))
                .build();
    }

    String selfId() {
        return selfId;
    }

    Inbound inbound() {
        return inbound;
    }

    Executor executor() {
        return executor;
    }

    int capacity() {
        return capacity;
    }

    boolean plaintextAllowed() {
        return plaintextAllowed;
    }

    StatusRuntimeException authError(String why) {
        return authError.apply(why);
    }

    void dropped() {
        dropped.increment();
    }

    void authFailed() {
        authFailures.increment();
    }

    /** Envelopes dropped because the broker's inbound queue was full. */
    public long droppedFull() {
        return dropped.sum();
    }

    /** Hellos refused (certificate mismatch, no certificate, malformed). */
    public long authFailures() {
        return authFailures.sum();
    }

}
