package io.weft.daemon.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.PeerServiceGrpc;
import io.weft.daemon.peer.Links;
import io.weft.daemon.peer.PeerTls;
import java.net.SocketAddress;
import javax.net.ssl.SSLSession;

/**
 * {@code weft.v1.PeerService}: hands each Link stream, with the daemon id its certificate names, to
 * the peer links. Served only on the peer listener.
 */
public final class PeerGrpcService extends PeerServiceGrpc.PeerServiceImplBase {

    private static final Context.Key<String> CERTIFIED_ID = Context.key("weft-peer-cert-id");
    private static final Context.Key<String> REMOTE = Context.key("weft-peer-remote");

    private final Links links;

    public PeerGrpcService(Links links) {
        this.links = links;
    }

    /** The service with the interceptor that reads the peer's certificate. */
    public ServerServiceDefinition bind() {
        return ServerInterceptors.intercept(bindService(), new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
                SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
                String id = PeerTls.daemonIdOf(session);
                Context ctx = Context.current().withValue(REMOTE, String.valueOf(remote));
                if (id != null) {
                    ctx = ctx.withValue(CERTIFIED_ID, id);
                }
                return Contexts.interceptCall(ctx, call, headers, next);
            }
        });
    }

    @Override
    public StreamObserver<Envelope> link(StreamObserver<Envelope> out) {
        String id = CERTIFIED_ID.get();
        String remote = REMOTE.get();
        return links.accept((ServerCallStreamObserver<Envelope>) out, remote == null ? "" : remote.replaceFirst("^/", ""),
                () -> id);
    }
}
