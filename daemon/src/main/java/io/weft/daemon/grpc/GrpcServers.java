package io.weft.daemon.grpc;

import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.ServerServiceDefinition;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.ContextServiceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The local gRPC listeners: a unix socket and a loopback TCP port, each optional, both serving the
 * same services plus server reflection v1 and {@code grpc.health.v1.Health}.
 */
public final class GrpcServers implements AutoCloseable {

    /** Calls one connection may have open at once. */
    static final int MAX_CONCURRENT_CALLS_PER_CONNECTION = 1024;

    private final HealthStatusManager health = new HealthStatusManager();
    private final List<Server> servers = new ArrayList<>();
    private EventLoopGroup unixGroup;
    private Path socketPath;
    private InetSocketAddress tcpAddress;

    /**
     * Starts the listeners.
     *
     * @param socket the unix socket path, or null for none
     * @param socketMode the socket file's permissions, e.g. {@code rw-rw----}
     * @param tcp the TCP address, or null for none (port 0 picks one)
     * @param maxMessageBytes the largest inbound message
     * @throws IOException when a listener cannot bind; the message names the address
     */
    public void start(
            Path socket, Set<PosixFilePermission> socketMode, InetSocketAddress tcp, int maxMessageBytes,
            List<ServerServiceDefinition> services) throws IOException {
        if (socket != null) {
            prepareSocketPath(socket);
            unixGroup = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
            NettyServerBuilder b = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                    .channelType(EpollServerDomainSocketChannel.class)
                    .bossEventLoopGroup(unixGroup)
                    .workerEventLoopGroup(unixGroup);
            servers.add(start(b, maxMessageBytes, services, "unix socket " + socket));
            Files.setPosixFilePermissions(socket, socketMode);
            socketPath = socket;
        }
        if (tcp != null) {
            Server s = start(NettyServerBuilder.forAddress(tcp), maxMessageBytes, services, "TCP " + tcp);
            servers.add(s);
            tcpAddress = new InetSocketAddress(tcp.getAddress(), s.getPort());
        }
        health.setStatus("", ServingStatus.SERVING);
    }

    /**
     * CallService and ContextService.Publish run on the transport's threads: their many small
     * messages (an invocation, a result, a batch of a few events) are only validated and enqueued,
     * never block, and a thread hand-off each was most of their cost (pipelined calls: 16,000/s
     * with gRPC's executor, 45,000/s without, on 2 cores; Publish at 1,000 single-event
     * batches/s: 7.3-7.6 context switches per event in weftd instead of 9.7-9.8). A large Publish
     * batch is parsed on another thread (see {@link PublishStream}). The other services keep
     * gRPC's executor, where their requests are parsed beside the transport thread, which goes on
     * reading.
     */
    private static final ServerCallExecutorSupplier CALLS_ON_TRANSPORT = new ServerCallExecutorSupplier() {
        @Override
        public <ReqT, RespT> Executor getExecutor(ServerCall<ReqT, RespT> call, Metadata headers) {
            MethodDescriptor<ReqT, RespT> m = call.getMethodDescriptor();
            return CallServiceGrpc.SERVICE_NAME.equals(m.getServiceName())
                    || ContextServiceGrpc.getPublishMethod().getFullMethodName().equals(m.getFullMethodName())
                    ? MoreExecutors.directExecutor() : null;
        }
    };

    private Server start(NettyServerBuilder b, int maxMessageBytes, List<ServerServiceDefinition> services, String what)
            throws IOException {
        b.callExecutor(CALLS_ON_TRANSPORT)
                .maxInboundMessageSize(maxMessageBytes)
                .maxConcurrentCallsPerConnection(MAX_CONCURRENT_CALLS_PER_CONNECTION)
                .addService(ProtoReflectionServiceV1.newInstance())
                .addService(health.getHealthService());
        for (ServerServiceDefinition s : services) {
            b.addService(s);
        }
        try {
            return b.build().start();
        } catch (IOException e) {
            throw new IOException("cannot listen on " + what + ": " + e.getMessage(), e);
        }
    }

    /**
     * Creates the socket's directory and removes a stale socket file, but refuses to take over a
     * socket another daemon is serving.
     */
    private static void prepareSocketPath(Path socket) throws IOException {
        Path dir = socket.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        if (Files.exists(socket)) {
            if (isServed(socket)) {
                throw new IOException("socket " + socket + " is in use by another process (another weftd?)");
            }
            Files.delete(socket);
        }
    }

    private static boolean isServed(Path socket) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The unix socket path, or null. */
    public Path socketPath() {
        return socketPath;
    }

    /** The bound TCP address (with the real port), or null. */
    public InetSocketAddress tcpAddress() {
        return tcpAddress;
    }

    /** Health turns NOT_SERVING and the listeners stop taking new calls; open calls go on. */
    public void beginShutdown() {
        health.setStatus("", ServingStatus.NOT_SERVING);
        for (Server s : servers) {
            s.shutdown();
        }
    }

    @Override
    public void close() {
        health.enterTerminalState();
        for (Server s : servers) {
            s.shutdownNow();
        }
        for (Server s : servers) {
            try {
                s.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (unixGroup != null) {
            unixGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (socketPath != null) {
            try {
                Files.deleteIfExists(socketPath);
            } catch (IOException ignored) {
                // Best effort: the next start removes a stale socket anyway.
            }
        }
    }
}
