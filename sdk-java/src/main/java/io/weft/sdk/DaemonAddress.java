package io.weft.sdk;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;
import io.weft.api.v1.ErrorReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Where weftd listens, by the shared SDK rules (DESIGN §9): {@code WEFT_ADDR} when set
 * ({@code unix:///abs/path} or {@code host:port}); else the user socket
 * {@code $XDG_RUNTIME_DIR/weft/weftd.sock} if it exists; else the system socket
 * {@code /run/weft/weftd.sock} if it exists; else {@code 127.0.0.1:7311}.
 *
 * @param target {@code unix:///abs/path} or {@code host:port}
 */
record DaemonAddress(String target) {
  static final String ENV = "WEFT_ADDR";
  static final Path SYSTEM_SOCKET = Path.of("/run/weft/weftd.sock");
  static final String DEFAULT_TCP = "127.0.0.1:7311";
  private static final String UNIX = "unix://";

  /** Resolves by the rules above; {@code exists} tells whether a socket file is there. */
  static DaemonAddress resolve(Map<String, String> env, Predicate<Path> exists) {
    String explicit = env.get(ENV);
    if (explicit != null && !explicit.isBlank()) {
      return parse(explicit.trim());
    }
    String runtimeDir = env.get("XDG_RUNTIME_DIR");
    if (runtimeDir != null && !runtimeDir.isBlank()) {
      Path user = Path.of(runtimeDir, "weft", "weftd.sock");
      if (user.isAbsolute() && exists.test(user)) {
        return new DaemonAddress(UNIX + user);
      }
    }
    if (exists.test(SYSTEM_SOCKET)) {
      return new DaemonAddress(UNIX + SYSTEM_SOCKET);
    }
    return new DaemonAddress(DEFAULT_TCP);
  }

  /** The address from the process environment and file system. */
  static DaemonAddress fromEnvironment() {
    return resolve(System.getenv(), Files::exists);
  }

  /** Parses {@code unix:///abs/path} or {@code host:port}; throws INVALID_ARGUMENT otherwise. */
  static DaemonAddress parse(String address) {
    if (address.startsWith(UNIX)) {
      String path = address.substring(UNIX.length());
      if (!path.startsWith("/") || path.length() < 2) {
        throw bad(address, "a unix address needs an absolute path: unix:///abs/path");
      }
      return new DaemonAddress(address);
    }
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw bad(address, "expected unix:///abs/path or host:port");
    }
    try {
      int port = Integer.parseInt(address.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw bad(address, "port out of range");
      }
    } catch (NumberFormatException e) {
      throw bad(address, "port is not a number");
    }
    return new DaemonAddress(address);
  }

  boolean isUnix() {
    return target.startsWith(UNIX);
  }

  /**
   * A plaintext channel to the daemon. Nothing connects yet: channels connect lazily, so
   * this succeeds whether or not the daemon is up. Unix sockets need Netty's epoll
   * transport (Linux); elsewhere a unix address fails here with INVALID_ARGUMENT.
   */
  ManagedChannel newChannel() {
    try {
      ManagedChannelBuilder<?> builder =
          Grpc.newChannelBuilder(
              isUnix() ? target : "dns:///" + target, InsecureChannelCredentials.create());
      if (isUnix() && builder instanceof NettyChannelBuilder netty) {
        // gRPC asks every socket for SO_KEEPALIVE; a unix socket has none and Netty warns on
        // each connection attempt — one warning per retry in the application's log while
        // the daemon is away. A null value removes the option.
        netty.withOption(ChannelOption.SO_KEEPALIVE, null);
      }
      return builder.build();
    } catch (RuntimeException e) {
      throw new WeftException(
          WeftException.name(ErrorReason.ERROR_REASON_INVALID_ARGUMENT),
          io.grpc.Status.INVALID_ARGUMENT.withDescription(
              "cannot open a channel to " + target + ": " + e.getMessage()),
          Map.of(),
          e);
    }
  }

  private static WeftException bad(String address, String why) {
    return WeftException.invalid(
        ErrorReason.ERROR_REASON_INVALID_ARGUMENT, ENV + " '" + address + "': " + why);
  }
}
