package io.weft.daemon.bus;

import com.rabbitmq.client.AlreadyClosedException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.weft.api.v1.BusEvent;
import io.weft.api.v1.QueueInfo;
import io.weft.daemon.config.BusFormat;
import io.weft.daemon.config.BusPolicy;
import io.weft.daemon.core.Clock;
import io.weft.daemon.core.EventSink;
import io.weft.daemon.core.SinkEvent;
import io.weft.daemon.log.LogFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;
import org.jctools.queues.SpscArrayQueue;

/**
 * Forwards every applied event to RabbitMQ (DESIGN §6), on its own thread: amqp-client channels
 * are not thread-safe and the broker thread must never wait for the network.
 *
 * <p>The broker offers to a bounded queue ({@code bus.capacity}); what does not fit is dropped
 * and counted by the broker and here ({@code full}), with one "queue full" log line and one
 * "recovered, N lost" line per episode. The publisher moves events into its {@link Backlog} (memory
 * for {@code drop}, the on-disk spool for {@code spool}), publishes them in order with publisher
 * confirms ({@code bus.max-unconfirmed} in flight, confirmed in batches by the broker's
 * {@code multiple} acks), and releases them when confirmed. A lost connection or a nack sends
 * everything unconfirmed again on a new connection, so delivery is at-least-once and consumers
 * de-duplicate by {@code message_id = obj_id:seq}. While RabbitMQ blocks the connection
 * ({@code connection.blocked}) nothing is published.
 *
 * <p>{@link #confirmedSeq()} (what {@code Flush} waits for) counts an event done when the broker
 * confirmed it ({@code drop}) or when it was written to the spool ({@code spool}).
 */
public final class BusPublisher implements EventSink {

    private static final Logger LOG = Logger.getLogger("bus");
    private static final int TAKE_LIMIT = 4096;
    private static final int PUBLISH_LIMIT = 512;
    private static final long IDLE_PARK_NS = 100_000_000L;
    private static final long RECOVERED_AFTER_NS = 1_000_000_000L;
    private static final int CLOSE_TIMEOUT_MS = 1_000;
    private static final long ERROR_BACKOFF_NS = 1_000_000_000L;

    private final BusSettings settings;
    private final String host;
    private final String handlerId;
    private final Clock clock;
    private final SpscArrayQueue<SinkEvent> queue;
    private final AmqpConnector connector;
    private final ConcurrentLinkedQueue<Confirm> confirms = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<Outstanding> outstanding = new ArrayDeque<>();
    private final List<BusEvent> batch = new ArrayList<>();
    private final AtomicLong droppedFull = new AtomicLong();
    private final AtomicLong spoolFull = new AtomicLong();
    private final AtomicLong spoolErrors = new AtomicLong();
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong confirmed = new AtomicLong();
    private final AtomicLong nacked = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong publishErrors = new AtomicLong();
    private final Thread thread;

    private Backlog backlog;
    private Connection connection;
    private Channel channel;
    private volatile long generation;
    private long nextConnectNs;
    private boolean everConnected;
    private volatile boolean lost;
    private volatile boolean blocked;
    private volatile boolean running = true;
    private volatile boolean sleeping;
    private volatile long stopDeadlineNs;
    private volatile long doneSeq;
    private volatile long depth;
    private volatile long spoolBytes;
    private volatile int spoolSegments;
    private volatile String state = "disconnected";
    private long episodeStartDrops;
    private long lastSeenDrops;
    private long lastDropNs;
    private boolean inEpisode;

    /**
     * @param settings the bus settings; a bus must be configured
     * @param host this daemon's id: the {@code hostname} header and {@code host} field
     * @param handlerId this weftd instance's id
     */
    public BusPublisher(BusSettings settings, String host, String handlerId, Clock clock) {
        this.settings = settings;
        this.host = host;
        this.handlerId = handlerId;
        this.clock = clock;
        this.queue = new SpscArrayQueue<>(settings.capacity());
        this.connector = new AmqpConnector(settings.urls(), "weftd " + host + " publisher", settings.reconnectMax());
        this.thread = new Thread(this::run, "weft-bus");
        this.thread.setDaemon(true);
    }

    @Override
    public String name() {
        return "bus";
    }

    @Override
    public boolean offer(SinkEvent event) {
        if (!queue.offer(event)) {
            droppedFull.incrementAndGet();
            return false;
        }
        // The SPSC offer is an ordered store, not a fence: without one, the read of `sleeping` could
        // pass it and miss a publisher that is just going to sleep (Dekker with run()).
        VarHandle.fullFence();
        if (sleeping) {
            LockSupport.unpark(thread);
        }
        return true;
    }

    @Override
    public long confirmedSeq() {
        return doneSeq;
    }

    @Override
    public QueueInfo queueInfo() {
        QueueInfo.Builder q = QueueInfo.newBuilder()
                .setName("bus")
                .setDepth(queue.size() + depth)
                .setCapacity(queue.capacity())
                .putDrops("full", droppedFull.get())
                .setState(state)
                .putCounters("published", published.get())
                .putCounters("confirmed", confirmed.get())
                .putCounters("nacked", nacked.get())
                .putCounters("reconnects", reconnects.get())
                .putCounters("publish_errors", publishErrors.get())
                .putCounters("unconfirmed", depth);
        if (settings.policy() == BusPolicy.SPOOL) {
            q.setPolicy("spool: every event to disk, published from there; newest dropped when the spool is full")
                    .putDrops("spool_full", spoolFull.get())
                    .putDrops("spool_error", spoolErrors.get())
                    .putCounters("spool_bytes", spoolBytes)
                    .putCounters("spool_segments", spoolSegments);
        } else {
            q.setPolicy("drop newest when full (counted)");
        }
        return q.build();
    }

    @Override
    public void start() {
        if (settings.policy() == BusPolicy.SPOOL) {
            Spool spool = new Spool(settings.spoolDir().orElseThrow(), settings.spoolMaxBytes(),
                    settings.spoolSegmentBytes(), settings.spoolForceInterval().toNanos());
            try {
                spool.open();
            } catch (IOException e) {
                throw new UncheckedIOException("bus spool: cannot open " + settings.spoolDir().get() + ": "
                        + e.getMessage(), e);
            }
            SpoolBacklog sb = new SpoolBacklog(spool, spoolFull, spoolErrors);
            spoolBytes = spool.bytes();
            spoolSegments = spool.segmentCount();
            backlog = sb;
        } else {
            backlog = new MemoryBacklog(settings.capacity());
        }
        depth = backlog.depth();
        thread.start();
    }

    private void run() {
        while (true) {
            long nowNs = System.nanoTime();
            int work = 0;
            try {
                work += backlog.take(queue, TAKE_LIMIT);
                backlog.sync(nowNs);
                work += applyConfirms();
                if (lost) {
                    disconnect("connection lost");
                }
                if (channel == null && nowNs - nextConnectNs >= 0 && wantsConnection()) {
                    connect(nowNs);
                }
                if (channel != null && !blocked) {
                    work += publish();
                }
            } catch (IOException | RuntimeException e) {
                // Whatever broke, the connection starts over after a back-off; the thread goes on.
                LOG.warning("msg=\"bus publisher error; reconnecting\" error=" + LogFormat.quote(String.valueOf(e)));
                disconnect("error: " + e);
                nextConnectNs = System.nanoTime() + Math.max(connector.backoffNs(), ERROR_BACKOFF_NS);
            }
            publishStatus(nowNs);
            if (!running && (finished() || System.nanoTime() - stopDeadlineNs >= 0)) {
                break;
            }
            if (work == 0) {
                sleeping = true;
                // A queue the backlog has no room for is no reason to stay awake: a confirm frees room.
                if (confirms.isEmpty() && (queue.isEmpty() || !backlog.hasRoom())) {
                    LockSupport.parkNanos(channel == null ? Math.min(IDLE_PARK_NS, connector.backoffNs() + 1) : IDLE_PARK_NS);
                }
                sleeping = false;
            }
        }
        shutdown();
    }

    /** While stopping, only the drop policy tries to reach the broker: the spool keeps its events for the next start. */
    private boolean wantsConnection() {
        return running || settings.policy() == BusPolicy.DROP && !(queue.isEmpty() && backlog.empty());
    }

    /** Done at shutdown: everything queued is confirmed, or (spool) written and no broker to send it to. */
    private boolean finished() {
        if (!queue.isEmpty()) {
            return false;
        }
        return backlog.empty() || settings.policy() == BusPolicy.SPOOL && channel == null;
    }

    private void connect(long nowNs) {
        try {
            Connection c = connector.connect();
            long gen = ++generation;
            c.addShutdownListener(cause -> {
                if (gen == generation) {
                    lost = true;
                    LockSupport.unpark(thread);
                }
            });
            c.addBlockedListener(reason -> {
                blocked = true;
                LOG.warning("msg=\"RabbitMQ blocked the connection; publishing paused\" reason="
                        + LogFormat.quote(reason));
            }, () -> {
                blocked = false;
                LOG.info("msg=\"RabbitMQ unblocked the connection; publishing resumes\"");
                LockSupport.unpark(thread);
            });
            Channel ch = c.createChannel();
            ch.exchangeDeclare(settings.exchange(), "topic", true);
            ch.confirmSelect();
            ch.addConfirmListener(
                    (tag, multiple) -> onConfirm(new Confirm(gen, tag, multiple, true)),
                    (tag, multiple) -> onConfirm(new Confirm(gen, tag, multiple, false)));
            connection = c;
            channel = ch;
            lost = false;
            if (everConnected) {
                reconnects.incrementAndGet();
            }
            everConnected = true;
            LOG.info("msg=\"bus connected\" url=" + LogFormat.quote(c.getAddress().getHostAddress() + ":" + c.getPort())
                    + " exchange=" + settings.exchange() + " format=" + settings.format().name().toLowerCase()
                    + " policy=" + settings.policy().name().toLowerCase() + " resending=" + backlog.depth());
        } catch (IOException | RuntimeException e) {
            closeQuietly();
            if (connector.failures() == 1) {
                LOG.warning("msg=\"bus unavailable; retrying with back-off\" error="
                        + LogFormat.quote(String.valueOf(e.getMessage())));
            }
            nextConnectNs = nowNs + connector.backoffNs();
        }
    }

    private void onConfirm(Confirm c) {
        confirms.add(c);
        if (sleeping) {
            LockSupport.unpark(thread);
        }
    }

    private void disconnect(String why) {
        if (channel != null || connection != null) {
            LOG.warning("msg=\"bus disconnected; unconfirmed events will be sent again\" reason=" + LogFormat.quote(why)
                    + " unconfirmed=" + backlog.depth());
        }
        closeQuietly();
        outstanding.clear();
        confirms.clear();
        backlog.rewind();
        lost = false;
        blocked = false;
        nextConnectNs = System.nanoTime() + connector.backoffNs();
    }

    private int applyConfirms() throws IOException {
        int n = 0;
        Confirm c;
        while ((c = confirms.poll()) != null) {
            n++;
            if (c.generation != generation) {
                continue;
            }
            if (!c.ack) {
                nacked.incrementAndGet();
                disconnect("broker nacked a message");
                return n;
            }
            for (Outstanding o : outstanding) {
                if (o.tag > c.tag) {
                    break;
                }
                if (c.multiple || o.tag == c.tag) {
                    o.acked = true;
                }
            }
        }
        while (!outstanding.isEmpty() && outstanding.peekFirst().acked) {
            Outstanding o = outstanding.pollFirst();
            backlog.release(o.endPosition, o.events);
            confirmed.addAndGet(o.events);
        }
        return n;
    }

    private int publish() throws IOException {
        int messages = 0;
        while (messages < PUBLISH_LIMIT && outstanding.size() < settings.maxUnconfirmed()) {
            BusEvent first = backlog.peek();
            if (first == null) {
                break;
            }
            long timeOut = clock.epochNanos();
            Outgoing out;
            if (settings.format() == BusFormat.BATCH) {
                batch.clear();
                String key = first.getEvent().getRoutingKey();
                BusEvent e = first;
                while (e != null && batch.size() < settings.batchMaxEvents() && e.getEvent().getRoutingKey().equals(key)) {
                    batch.add(e);
                    backlog.advance();
                    e = backlog.peek();
                }
                out = BatchFormat.encode(batch, host, handlerId, timeOut);
            } else {
                backlog.advance();
                out = ContextureFormat.encode(first, host, handlerId, timeOut, queue.size() + backlog.depth());
            }
            long tag = channel.getNextPublishSeqNo();
            try {
                channel.basicPublish(settings.exchange(), out.routingKey(), out.properties(), out.body());
            } catch (IOException | AlreadyClosedException e) {
                publishErrors.incrementAndGet();
                disconnect("publish failed: " + e.getMessage());
                return messages;
            }
            outstanding.addLast(new Outstanding(tag, backlog.position(), out.events()));
            published.addAndGet(out.events());
            messages++;
        }
        return messages;
    }

    private void publishStatus(long nowNs) {
        doneSeq = backlog.doneSeq();
        depth = backlog.depth();
        state = channel == null ? "disconnected" : blocked ? "blocked" : "connected";
        if (backlog instanceof SpoolBacklog sb) {
            spoolBytes = sb.bytes();
            spoolSegments = sb.segments();
        }
        long drops = droppedFull.get() + spoolFull.get();
        if (drops != lastSeenDrops) {
            if (!inEpisode) {
                inEpisode = true;
                episodeStartDrops = lastSeenDrops;
                LOG.warning("msg=\"bus queue full; dropping the newest events and counting them\" capacity="
                        + queue.capacity() + " policy=" + settings.policy().name().toLowerCase() + " state=" + state);
            }
            lastSeenDrops = drops;
            lastDropNs = nowNs;
        } else if (inEpisode && nowNs - lastDropNs >= RECOVERED_AFTER_NS) {
            inEpisode = false;
            LOG.info("msg=\"bus queue recovered\" lost=" + (drops - episodeStartDrops));
        }
    }

    private void closeQuietly() {
        Connection c = connection;
        connection = null;
        channel = null;
        if (c != null) {
            try {
                c.close(CLOSE_TIMEOUT_MS);
            } catch (IOException | RuntimeException ignored) {
                // Closing a connection that is already gone: nothing left to release.
            }
        }
    }

    private void shutdown() {
        long unconfirmed = backlog.depth();
        closeQuietly();
        try {
            backlog.close();
        } catch (IOException e) {
            LOG.warning("msg=\"closing the spool failed\" error=" + LogFormat.quote(String.valueOf(e.getMessage())));
        }
        if (settings.policy() == BusPolicy.SPOOL && unconfirmed > 0) {
            LOG.info("msg=\"bus stopped; unconfirmed events stay in the spool for the next start\" spooled=" + unconfirmed);
        }
    }

    @Override
    public long close(Duration grace) {
        stopDeadlineNs = System.nanoTime() + grace.toNanos();
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(Math.max(1, grace.toMillis() + 2 * CLOSE_TIMEOUT_MS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long left = queue.size();
        return settings.policy() == BusPolicy.SPOOL ? left : left + depth;
    }

    /** A confirm from the broker, as the client's I/O thread saw it. */
    private record Confirm(long generation, long tag, boolean multiple, boolean ack) {}

    /** A published message awaiting its confirm. */
    private static final class Outstanding {
        final long tag;
        final long endPosition;
        final int events;
        boolean acked;

        Outstanding(long tag, long endPosition, int events) {
            this.tag = tag;
            this.endPosition = endPosition;
            this.events = events;
        }
    }
}
