package io.weft.daemon.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The systemd side of sd_notify for tests: a unix datagram socket that collects every notification
 * sent to it. Bound to a path or, for a {@code NOTIFY_SOCKET} value {@code @name}, in the abstract
 * namespace. On each message it runs a probe on the receiving thread and keeps the result with the
 * message, so a test can check what was true at the moment a notification arrived.
 */
final class NotifyListener implements AutoCloseable {

    /** One notification and what the probe saw when it arrived. */
    record Notification(String text, String probe) {
        boolean has(String line) {
            return text.lines().anyMatch(line::equals);
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final BlockingQueue<Notification> received = new ArrayBlockingQueue<>(256);
    private final Channel channel;
    private final String notifySocket;

    /**
     * Binds the socket.
     *
     * @param notifySocket a {@code NOTIFY_SOCKET} value: an absolute path or {@code @name}
     * @param probe run when a notification arrives, given its text
     */
    NotifyListener(String notifySocket, Function<String, String> probe) throws InterruptedException {
        this.notifySocket = notifySocket;
        String path = notifySocket.startsWith("@") ? "\0" + notifySocket.substring(1) : notifySocket;
        channel = new Bootstrap().group(group).channel(EpollDomainDatagramChannel.class)
                .handler(new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket packet) {
                        String text = packet.content().toString(StandardCharsets.UTF_8);
                        if (!received.offer(new Notification(text, probe.apply(text)))) {
                            throw new IllegalStateException("more than 256 notifications unread");
                        }
                    }
                })
                .bind(new DomainSocketAddress(path)).sync().channel();
    }

    /** The value to give weftd as {@code NOTIFY_SOCKET}. */
    String notifySocket() {
        return notifySocket;
    }

    /**
     * The next notification.
     *
     * @throws AssertionError when none arrives within {@code timeout}
     */
    Notification next(Duration timeout) throws InterruptedException {
        Notification n = received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (n == null) {
            throw new AssertionError("no notification on " + notifySocket + " within " + timeout);
        }
        return n;
    }

    /** Notifications received and not yet taken. */
    int pending() {
        return received.size();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }
}
