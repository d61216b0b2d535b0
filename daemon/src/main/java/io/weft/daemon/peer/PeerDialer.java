package io.weft.daemon.peer;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.PeerServiceGrpc;
import io.weft.daemon.config.HostPort;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;
import javax.net.ssl.SSLSession;

/**
 * Keeps one configured peer linked: dials it, and after every loss dials again with back-off
 * (50 ms doubling up to {@code peer.reconnect-max}; reset once a link came up).
 */
public final class PeerDialer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("peers");
    private static final long FIRST_BACKOFF_NS = 50_000_000L;

    private final HostPort address;
    private final Links links;
    private final ScheduledExecutorService scheduler;
    private final long maxBackoffNs;
    private final ManagedChannel channel;
    private long backoffNs = FIRST_BACKOFF_NS;
    private volatile boolean closed;

    /**
     * @param tls the client side of mTLS, or null for plaintext (only when explicitly allowed)
     */
    public PeerDialer(HostPort address, PeerTls tls, Links links, ScheduledExecutorService scheduler, long maxBackoffNs,
            int maxMessageBytes) {
        this.address = address;
        this.links = links;
        this.scheduler = scheduler;
        this.maxBackoffNs = maxBackoffNs;
        // The link's callbacks only validate and enqueue (LinkStream): they run on the transport's
        // thread, without a hand-off per envelope.
        NettyChannelBuilder b = NettyChannelBuilder.forAddress(address.host(), address.port())
                .directExecutor()
                .maxInboundMessageSize(maxMessageBytes);
        if (tls != null) {
            b.sslContext(tls.client());
        } else {
            b.usePlaintext();
        }
        this.channel = b.build();
    }

    public void start() {
        scheduler.execute(this::dial);
    }

    private void dial() {
        if (closed) {
            return;
        }
        try {
            open();
        } catch (RuntimeException e) {
            LOG.warning("msg=\"peer dial failed\" address=" + address + " error=\"" + e + "\"");
            redial(0);
        }
    }

    private void open() {
        AtomicReference<SSLSession> session = new AtomicReference<>();
        long[] upSince = {0};
        LinkStream stream = links.dial(address.toString(), () -> {
            upSince[0] = System.nanoTime();
            return PeerTls.daemonIdOf(session.get());
        }, () -> redial(upSince[0]));
        PeerServiceGrpc.newStub(channel).withInterceptors(new SessionCapture(session))
                .link(new ClientResponseObserver<Envelope, Envelope>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<Envelope> requests) {
                        stream.attach(requests);
                    }

                    @Override
                    public void onNext(Envelope e) {
                        stream.onNext(e);
                    }

                    @Override
                    public void onError(Throwable t) {
                        stream.onError(t);
                    }

                    @Override
                    public void onCompleted() {
                        stream.onCompleted();
                    }
                });
        stream.sendHello();
    }

    private synchronized void redial(long upSinceNs) {
        if (closed) {
            return;
        }
        if (upSinceNs != 0) {
            backoffNs = FIRST_BACKOFF_NS;
        }
        long wait = backoffNs;
        backoffNs = Math.min(maxBackoffNs, backoffNs * 2);
        LOG.fine("msg=\"peer redial\" address=" + address + " in_ms=" + wait / 1_000_000);
        scheduler.schedule(this::dial, wait, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        closed = true;
        channel.shutdownNow();
    }

    /** Reads the server's TLS session when its response headers arrive (before its hello). */
    private static final class SessionCapture implements ClientInterceptor {
        private final AtomicReference<SSLSession> session;

        SessionCapture(AtomicReference<SSLSession> session) {
            this.session = session;
        }

        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    ClientCall<Q, R> call = delegate();
                    super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                        @Override
                        public void onHeaders(Metadata h) {
                            session.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                            super.onHeaders(h);
                        }
                    }, headers);
                }
            };
        }
    }
}
