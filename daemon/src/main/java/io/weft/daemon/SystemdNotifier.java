package io.weft.daemon;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.weft.daemon.log.LogFormat;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Tells systemd how the daemon is doing, with the sd_notify protocol: one datagram of
 * {@code KEY=value} lines to the unix socket named by {@code NOTIFY_SOCKET} (a path, or
 * {@code @name} for the abstract namespace). Without {@code NOTIFY_SOCKET} (not started by a
 * {@code Type=notify} unit) every method does nothing.
 *
 * <p>Messages: {@link #ready} once the listeners are up ({@code READY=1}); {@link #reloading} and
 * {@link #ready} around a SIGHUP reload ({@code RELOADING=1} with {@code MONOTONIC_USEC}, as
 * {@code Type=notify-reload} requires); {@link #stopping} when SIGTERM starts the drain
 * ({@code STOPPING=1}, and {@code EXTEND_TIMEOUT_USEC} so that a {@code drain.grace} longer than
 * the unit's {@code TimeoutStopSec} is still honoured). A notification that cannot be sent is
 * logged, never fatal: systemd's own timeouts then say what went wrong.
 *
 * <p>The JDK has no unix datagram sockets; Netty's epoll transport (already used for the gRPC
 * unix socket) has them. One event-loop thread (a daemon thread) exists only while
 * {@code NOTIFY_SOCKET} is set.
 */
final class SystemdNotifier implements AutoCloseable {

    /** The variable systemd sets for {@code Type=notify} services. */
    static final String NOTIFY_SOCKET = "NOTIFY_SOCKET";

    /**
     * What stopping may take beyond {@code drain.grace}: closing the listeners and sinks and the
     * JVM's exit on a busy host. deploy/weftd.service's {@code TimeoutStopSec} is the default
     * {@code drain.grace} plus this.
     */
    static final Duration STOP_MARGIN = Duration.ofSeconds(10);

    private static final Logger LOG = Logger.getLogger("weftd");
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(2);
    /** Longest {@code sun_path} on Linux, including the terminating NUL of a path. */
    private static final int MAX_PATH_BYTES = 108;

    private final DomainSocketAddress target;
    private final EventLoopGroup group;
    private final Channel channel;

    private SystemdNotifier(DomainSocketAddress target, EventLoopGroup group, Channel channel) {
        this.target = target;
        this.group = group;
        this.channel = channel;
    }

    /**
     * A notifier for the socket in {@code env}, or one that does nothing when {@code NOTIFY_SOCKET}
     * is unset, unusable (logged) or epoll is not available (logged).
     *
     * @param env the environment
     * @return the notifier; close it at exit
     */
    static SystemdNotifier fromEnvironment(Map<String, String> env) {
        String value = env.get(NOTIFY_SOCKET);
        if (value == null || value.isEmpty()) {
            return disabled();
        }
        DomainSocketAddress address;
        try {
            address = parseAddress(value);
        } catch (IllegalArgumentException e) {
            LOG.warning("msg=\"NOTIFY_SOCKET not usable; systemd will not be notified\" notify_socket="
                    + LogFormat.quote(value) + " error=" + LogFormat.quote(e.getMessage()));
            return disabled();
        }
        if (!Epoll.isAvailable()) {
            LOG.warning("msg=\"epoll unavailable; systemd will not be notified\" error="
                    + LogFormat.quote(String.valueOf(Epoll.unavailabilityCause())));
            return disabled();
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("weft-notify", true),
                EpollIoHandler.newFactory());
        ChannelFuture registered = new Bootstrap()
                .group(group)
                .channel(EpollDomainDatagramChannel.class)
                // Unbound and unconnected: every datagram names its destination.
                .option(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, true)
                .handler(new ChannelInboundHandlerAdapter())
                .register();
        if (!registered.awaitUninterruptibly(SEND_TIMEOUT.toMillis()) || !registered.isSuccess()) {
            LOG.warning("msg=\"cannot open a datagram socket; systemd will not be notified\" error="
                    + LogFormat.quote(String.valueOf(registered.cause())));
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            return disabled();
        }
        return new SystemdNotifier(address, group, registered.channel());
    }

    private static SystemdNotifier disabled() {
        return new SystemdNotifier(null, null, null);
    }

    /**
     * The socket address of a {@code NOTIFY_SOCKET} value: an absolute path, or {@code @name} for
     * Linux's abstract namespace (a leading NUL byte in {@code sun_path}).
     *
     * @param value the variable's value
     * @return the address
     * @throws IllegalArgumentException for any other form (relative paths; {@code vsock:}, which
     *     systemd uses only for virtual machines) or a name too long for {@code sun_path}
     */
    static DomainSocketAddress parseAddress(String value) {
        String path;
        if (value.startsWith("@")) {
            path = "\0" + value.substring(1);
        } else if (value.startsWith("/")) {
            path = value;
        } else {
            throw new IllegalArgumentException("expected an absolute path or @name");
        }
        int bytes = path.getBytes(StandardCharsets.UTF_8).length + (value.startsWith("/") ? 1 : 0);
        if (bytes > MAX_PATH_BYTES || path.length() < 2) {
            throw new IllegalArgumentException("socket name must be 1 to " + (MAX_PATH_BYTES - 1) + " bytes");
        }
        return new DomainSocketAddress(path);
    }

    /** True when notifications are sent (started by systemd with {@code NOTIFY_SOCKET}). */
    boolean enabled() {
        return channel != null;
    }

    /**
     * {@code READY=1}: startup (or a reload) is complete and the listeners accept clients.
     *
     * @param status one line for {@code systemctl status}
     */
    void ready(String status) {
        send("READY=1\nSTATUS=" + oneLine(status));
    }

    /** {@code RELOADING=1}: a SIGHUP reload begins; {@link #ready} must follow when it is done. */
    void reloading() {
        // System.nanoTime() is CLOCK_MONOTONIC on Linux, the clock systemd compares against.
        send("RELOADING=1\nMONOTONIC_USEC=" + TimeUnit.NANOSECONDS.toMicros(System.nanoTime())
                + "\nSTATUS=reloading configuration");
    }

    /**
     * {@code STOPPING=1}: the drain begins; asks systemd to wait at least {@code mayTake} for the
     * exit before it kills the process ({@code EXTEND_TIMEOUT_USEC} only extends, never shortens,
     * the unit's {@code TimeoutStopSec}).
     *
     * @param mayTake how long stopping may take from now
     */
    void stopping(Duration mayTake) {
        send("STOPPING=1\nEXTEND_TIMEOUT_USEC=" + TimeUnit.NANOSECONDS.toMicros(mayTake.toNanos())
                + "\nSTATUS=draining");
    }

    private void send(String message) {
        if (channel == null) {
            return;
        }
        ChannelFuture sent = channel.writeAndFlush(
                new DomainDatagramPacket(Unpooled.copiedBuffer(message, StandardCharsets.UTF_8), target));
        if (!sent.awaitUninterruptibly(SEND_TIMEOUT.toMillis())) {
            LOG.warning("msg=\"systemd notification not sent in time\" notification="
                    + LogFormat.quote(message.lines().findFirst().orElse("")));
        } else if (!sent.isSuccess()) {
            LOG.warning("msg=\"systemd notification failed\" notification="
                    + LogFormat.quote(message.lines().findFirst().orElse(""))
                    + " error=" + LogFormat.quote(String.valueOf(sent.cause())));
        }
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ');
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().awaitUninterruptibly(SEND_TIMEOUT.toMillis());
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        }
    }
}
