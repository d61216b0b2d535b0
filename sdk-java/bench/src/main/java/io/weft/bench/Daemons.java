package io.weft.bench;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;
import io.weft.daemon.testing.WeftdProcess;
import java.io.IOException;

/** Starts the real {@code daemon/target/weftd} the way every benchmark here needs it. */
final class Daemons {
  private Daemons() {}

  /**
   * A fresh weftd on a private unix socket, with its launcher's default JVM options followed by
   * {@code WEFT_BENCH_JAVA_OPTS} (empty unless set, for experiments with the daemon's JVM): the
   * caller's own {@code JAVA_OPTS} never reaches it ({@code WEFT_JAVA_OPTS} is already removed
   * by {@link WeftdProcess}).
   */
  static WeftdProcess start() throws IOException {
    return WeftdProcess.builder().env("JAVA_OPTS", System.getenv().getOrDefault("WEFT_BENCH_JAVA_OPTS", "")).start();
  }

  /**
   * A plaintext channel to the daemon's unix socket, built as the SDK builds its own; the
   * caller shuts it down.
   */
  static ManagedChannel channel(WeftdProcess daemon) {
    NettyChannelBuilder builder =
        (NettyChannelBuilder) Grpc.newChannelBuilder(daemon.target(), InsecureChannelCredentials.create());
    // A unix socket has no SO_KEEPALIVE, which gRPC asks for; Netty would warn on each connection.
    return builder.withOption(ChannelOption.SO_KEEPALIVE, null).build();
  }
}
