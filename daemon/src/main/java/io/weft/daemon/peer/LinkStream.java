package io.weft.daemon.peer;

import io.grpc.Status;
import io.grpc.stub.CallStreamObserver;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.EnvelopeKind;
import io.weft.api.v1.Hello;
import io.weft.daemon.core.CallOp;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import io.weft.daemon.core.PeerLink;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * One {@code PeerService.Link} stream, on either side. Until the hellos are exchanged nothing but a
 * hello is accepted: the peer's hello must name the daemon its certificate names (or, with
 * plaintext allowed, is trusted). Then every envelope is stamped on the link (liveness) and, except
 * heartbeats, queued for the broker; the link's outbox is written only while the stream {@code
 * isReady()}. However the stream ends, the broker is told, so the link's routes and calls go at once.
 */
final class LinkStream implements StreamObserver<Envelope>, PeerLink.Transport {

    private static final Logger LOG = Logger.getLogger("peers");

    private final Links links;
    private final boolean dialed;
    private final String address;
    /** The daemon id the peer's certificate names; null on a plaintext link. Read once the stream is up. */
    private final Supplier<String> certifiedId;
    private final Runnable onEnd;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();
    private final ClientSession session;
    private CallStreamObserver<Envelope> out;
    private volatile PeerLink link;
    private boolean outEnded;

    LinkStream(Links links, boolean dialed, String address, Supplier<String> certifiedId, Runnable onEnd) {
        this.links = links;
        this.dialed = dialed;
        this.address = address;
        this.certifiedId = certifiedId;
        this.onEnd = onEnd;
        this.session = new ClientSession("peer:" + address);
    }

    /** Attaches the sending side (before the call starts). */
    synchronized void attach(CallStreamObserver<Envelope> out) {
        this.out = out;
        out.setOnReadyHandler(this::drain);
    }

    /** A dialer sends its hello first, once the call started. */
    synchronized void sendHello() {
        if (!outEnded) {
            out.onNext(links.hello());
        }
    }

    @Override
    public void onNext(Envelope e) {
        PeerLink l = link;
        if (l == null) {
            onHello(e);
            return;
        }
        l.heard(System.nanoTime());
        if (e.getKind() == EnvelopeKind.ENVELOPE_KIND_HEARTBEAT) {
            return;
        }
        if (links.inbound().offer(new Command.Calls(session, new CallOp.FromPeer(l, e))) != Inbound.Refusal.NONE) {
            links.dropped();
        }
    }

    private void onHello(Envelope e) {
        if (e.getKind() != EnvelopeKind.ENVELOPE_KIND_HELLO || !e.hasHello() || e.getHello().getDaemonId().isEmpty()) {
            refuse("the first envelope must be a hello naming the peer's daemon id");
            return;
        }
        Hello h = e.getHello();
        String cert = certifiedId.get();
        if (cert == null && !links.plaintextAllowed()) {
            refuse("the peer presented no certificate and plaintext peer links are not allowed");
            return;
        }
        if (cert != null && !cert.equals(h.getDaemonId())) {
            refuse("the hello names daemon '" + h.getDaemonId() + "' but the certificate names '" + cert + "'");
            return;
        }
        if (h.getDaemonId().equals(links.selfId())) {
            refuse("a link to itself");
            return;
        }
        if (!dialed) {
            synchronized (this) {
                out.onNext(links.hello());
            }
        }
        PeerLink l = new PeerLink(h.getDaemonId(), h.getEpoch(), dialed, address, links.capacity(), this, System.nanoTime());
        link = l;
        if (links.inbound().offer(new Command.Calls(session, new CallOp.LinkUp(l))) != Inbound.Refusal.NONE) {
            close("the daemon's inbound queue is full");
        }
    }

    private void refuse(String why) {
        links.authFailed();
        LOG.warning("msg=\"peer link refused\" address=" + address + " why=\"" + why + "\"");
        fail(links.authError(why));
    }

    @Override
    public void onError(Throwable t) {
        end("stream failed: " + Status.fromThrowable(t).getCode());
    }

    @Override
    public void onCompleted() {
        end("stream ended by the peer");
        synchronized (this) {
            if (!outEnded) {
                outEnded = true;
                out.onCompleted();
            }
        }
    }

    private void end(String why) {
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        PeerLink l = link;
        if (l == null && dialed) {
            LOG.warning("msg=\"peer link not established\" address=" + address + " why=\"" + why + "\"");
        }
        if (l != null) {
            l.close();
            // If the queue is full, the broker's tick finds the closed link at once anyway.
            links.inbound().offer(new Command.Calls(session, new CallOp.LinkDown(l, why)));
        }
        onEnd.run();
    }

    @Override
    public void wake() {
        if (scheduled.compareAndSet(false, true)) {
            links.executor().execute(() -> {
                scheduled.set(false);
                drain();
            });
        }
    }

    @Override
    public void close(String why) {
        links.executor().execute(() -> fail(Status.UNAVAILABLE.withDescription(why).asRuntimeException()));
    }

    private synchronized void drain() {
        PeerLink l = link;
        if (outEnded || l == null || out == null) {
            return;
        }
        while (out.isReady()) {
            Envelope e = l.poll();
            if (e == null) {
                break;
            }
            out.onNext(e);
        }
    }

    private void fail(Throwable status) {
        synchronized (this) {
            if (!outEnded && out != null) {
                outEnded = true;
                if (out instanceof ClientCallStreamObserver<Envelope> c) {
                    c.cancel(status.getMessage(), status);
                } else {
                    out.onError(status);
                }
            }
        }
        end(status.getMessage());
    }
}
