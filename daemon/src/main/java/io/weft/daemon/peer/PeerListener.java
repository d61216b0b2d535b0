package io.weft.daemon.peer;

import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** The peer listener: PeerService only, over mTLS (or plaintext when explicitly allowed). */
public final class PeerListener implements AutoCloseable {

    private final Server server;
    private final InetSocketAddress address;

    private PeerListener(Server server, InetSocketAddress address) {
        this.server = server;
        this.address = address;
    }

    /**
     * @param tls mTLS, or null for plaintext
     * @throws IOException naming the address when it cannot bind
     */
    public static PeerListener start(InetSocketAddress at, PeerTls tls, ServerServiceDefinition service,
            int maxMessageBytes) throws IOException {
        // PeerService only validates and enqueues (LinkStream): it runs on the transport's threads.
        NettyServerBuilder b = NettyServerBuilder.forAddress(at).directExecutor().maxInboundMessageSize(maxMessageBytes)
                .addService(service);
        if (tls != null) {
            b.sslContext(tls.server());
        }
        try {
            Server s = b.build().start();
            return new PeerListener(s, new InetSocketAddress(at.getAddress(), s.getPort()));
        } catch (IOException e) {
            throw new IOException("cannot listen for peers on " + at + ": " + e.getMessage(), e);
        }
    }

    /** The bound address (with the real port). */
    public InetSocketAddress address() {
        return address;
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
