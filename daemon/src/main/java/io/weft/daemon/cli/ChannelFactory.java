package io.weft.daemon.cli;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;

/** Opens the channel to the daemon; tests substitute an in-process one. */
@FunctionalInterface
interface ChannelFactory {

    /**
     * Opens a channel.
     *
     * @param address where the daemon is
     * @return a channel the caller shuts down
     */
    ManagedChannel open(DaemonAddress address);

    /**
     * Plaintext gRPC over Netty: unix sockets through the epoll transport
     * ({@code unix://} target), TCP otherwise.
     */
    static ChannelFactory netty() {
        return address -> Grpc.newChannelBuilder(address.target(), InsecureChannelCredentials.create()).build();
    }
}
