package io.weft.daemon.bus;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.Delivery;
import io.weft.api.v1.BusBatch;
import io.weft.api.v1.BusEvent;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.QueueInfo;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import io.weft.daemon.core.Watcher;
import io.weft.daemon.log.LogFormat;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;

/**
 * Reads the bus back for the fleet view (DESIGN §6): for every {@code Watch(source=BUS)}, and for
 * the always-on {@code bus.fleet} patterns, a {@linkplain MonitorQueues monitor queue} of its own
 * ({@code x-max-length} {@code bus.monitor.max-length}) bound as the watch's filter asks. What
 * arrives is decoded (either wire format) and handed to the broker, which collates it in the fleet
 * collator.
 *
 * <p>Nothing a watch misses goes unreported: events that find the inbound queue full, and events
 * RabbitMQ dropped from the watch's queue (counted from the connection's dead-letter queue), are
 * counted by cause and reach the watch as a {@code Lagged} marker before its next item.
 *
 * <p>Its own thread owns the connection and the channels; deliveries run on amqp-client's
 * consumer thread and only decode and offer. After a lost connection every queue is declared again
 * (what was published meanwhile is not seen: a monitor, like Contexture's, watches the present).
 */
public final class BusMonitor implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("bus.monitor");
    private static final long IDLE_PARK_NS = 100_000_000L;

    private final BusSettings settings;
    private final Inbound inbound;
    private final ClientSession session = new ClientSession("bus-monitor");
    private final AmqpConnector connector;
    private final ConcurrentLinkedQueue<Subscription> added = new ConcurrentLinkedQueue<>();
    private final List<Subscription> active = new ArrayList<>();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong badMessages = new AtomicLong();
    private final AtomicLong droppedFull = new AtomicLong();
    private final AtomicLongArray droppedByBus = new AtomicLongArray(MonitorQueues.Reason.values().length);
    /** Monitor queue name → its subscription, for the dead-letter consumer to charge a drop to. */
    private final Map<String, Subscription> byQueue = new ConcurrentHashMap<>();
    private final AtomicLong reconnects = new AtomicLong();
    private final Thread thread;
    private Connection connection;
    private String deadLetters;
    private long nextConnectNs;
    private volatile boolean lost;
    private volatile boolean running = true;
    private volatile String state = "idle";
    private volatile int consuming;

    public BusMonitor(BusSettings settings, String daemonId, Inbound inbound) {
        this.settings = settings;
        this.inbound = inbound;
        this.connector = new AmqpConnector(settings.urls(), "weftd " + daemonId + " monitor", settings.reconnectMax());
        this.thread = new Thread(this::run, "weft-bus-monitor");
        this.thread.setDaemon(true);
    }

    /** Starts the thread and, with {@code bus.fleet}, the always-on fleet consumer. */
    public void start() {
        if (!settings.fleetPatterns().isEmpty()) {
            added.add(new Subscription(null, ObjectFilter.newBuilder().addAllRoutingKeys(settings.fleetPatterns()).build()));
        }
        thread.start();
    }

    /** True when {@code bus.fleet} makes the fleet view follow the bus at all times. */
    public boolean followsFleet() {
        return !settings.fleetPatterns().isEmpty();
    }

    /**
     * Starts consuming for one BUS watch, until the watcher is cancelled. Any thread.
     *
     * @param filter the watch's filter: its routing-key patterns and header arguments become bindings
     */
    public void watch(ObjectFilter filter, Watcher watcher) {
        added.add(new Subscription(watcher, filter));
        LockSupport.unpark(thread);
    }

    /** Queues consuming now (depth), events received, bad and dropped ones by cause. Any thread. */
    public QueueInfo queueInfo() {
        QueueInfo.Builder b = QueueInfo.newBuilder()
                .setName("bus.monitor")
                .setDepth(consuming)
                .setCapacity(0)
                .putDrops("inbound_full", droppedFull.get())
                .putDrops("bad_message", badMessages.get());
        for (MonitorQueues.Reason r : MonitorQueues.Reason.values()) {
            b.putDrops(r.cause(), droppedByBus.get(r.ordinal()));
        }
        return b.putCounters("received", received.get())
                .putCounters("reconnects", reconnects.get())
                .setPolicy("events that find the inbound queue full are dropped; RabbitMQ drops the oldest beyond"
                        + " x-max-length and those older than 60 s; all counted, and reported to the watch as lagged")
                .setState(state)
                .build();
    }

    private void run() {
        while (running) {
            long nowNs = System.nanoTime();
            Subscription s;
            while ((s = added.poll()) != null) {
                active.add(s);
                if (connection != null) {
                    declare(s);
                }
            }
            active.removeIf(sub -> {
                if (sub.watcher != null && sub.watcher.isCancelled()) {
                    sub.close();
                    forget(sub);
                    return true;
                }
                return false;
            });
            if (lost) {
                disconnected();
            }
            if (connection == null && !active.isEmpty() && nowNs - nextConnectNs >= 0) {
                connect(nowNs);
            }
            if (connection != null && active.isEmpty()) {
                closeConnection();
                state = "idle";
            }
            consuming = (int) active.stream().filter(sub -> sub.channel != null).count();
            LockSupport.parkNanos(IDLE_PARK_NS);
        }
        active.forEach(Subscription::close);
        closeConnection();
    }

    private void connect(long nowNs) {
        try {
            Connection c = connector.connect();
            try {
                Channel dl = c.createChannel();
                deadLetters = MonitorQueues.declareDeadLetters(dl, settings.monitorDeadLetterMaxLength());
                dl.basicConsume(deadLetters, true, (tag, d) -> onDeadLetter(d), tag -> { });
            } catch (IOException e) {
                c.abort();
                throw e;
            }
            c.addShutdownListener(cause -> {
                if (running) {
                    lost = true;
                    LockSupport.unpark(thread);
                }
            });
            connection = c;
            state = "connected";
            for (Subscription s : active) {
                declare(s);
            }
        } catch (IOException e) {
            if (connector.failures() == 1) {
                LOG.warning("msg=\"bus monitor cannot reach the bus; retrying with back-off\" error="
                        + LogFormat.quote(String.valueOf(e.getMessage())));
            }
            state = "disconnected";
            nextConnectNs = nowNs + connector.backoffNs();
        }
    }

    private void disconnected() {
        lost = false;
        LOG.warning("msg=\"bus monitor lost its connection; declaring its queues again\"");
        active.forEach(this::forget);
        connection = null;
        state = "disconnected";
        reconnects.incrementAndGet();
    }

    private void declare(Subscription s) {
        try {
            Channel ch = connection.createChannel();
            String queue = MonitorQueues.declare(ch, settings.exchange(), s.filter, settings.monitorMaxLength(),
                    deadLetters);
            byQueue.put(queue, s);
            s.queue = queue;
            ch.basicConsume(queue, true, (tag, d) -> onDelivery(s, d), tag -> { });
            s.channel = ch;
        } catch (IOException | RuntimeException e) {
            LOG.warning("msg=\"bus monitor cannot declare its queue\" error=" + LogFormat.quote(String.valueOf(e.getMessage())));
            lost = true;
        }
    }

    /** On amqp-client's consumer thread: decode, offer, count. */
    private void onDelivery(Subscription s, Delivery d) {
        List<BusEvent> events;
        try {
            events = decode(d);
        } catch (ContextureFormat.BadMessageException e) {
            if (badMessages.getAndIncrement() == 0) {
                LOG.warning("msg=\"bus monitor skips a message it cannot read (counted as bad_message)\" routing_key="
                        + LogFormat.quote(d.getEnvelope().getRoutingKey()) + " error=" + LogFormat.quote(e.getMessage()));
            }
            return;
        }
        received.addAndGet(events.size());
        if (inbound.offer(new Command.BusEvents(session, s.watcher, events)) != Inbound.Refusal.NONE) {
            droppedFull.addAndGet(events.size());
            if (s.watcher != null) {
                s.watcher.lost(events.size());
            }
        }
    }

    /** On amqp-client's consumer thread: RabbitMQ dropped a message from a monitor queue; count it. */
    private void onDeadLetter(Delivery d) {
        MonitorQueues.Dropped dropped = MonitorQueues.dropped(d);
        droppedByBus.addAndGet(dropped.reason().ordinal(), dropped.events());
        Subscription s = dropped.queue() == null ? null : byQueue.get(dropped.queue());
        if (s != null && s.watcher != null) {
            s.watcher.lost(dropped.events());
        }
    }

    /**
     * Decodes either wire format; every event carries the message's headers ({@code hostname}
     * included), so the fleet view can tell the hosts apart.
     */
    public static List<BusEvent> decode(Delivery d) throws ContextureFormat.BadMessageException {
        AMQP.BasicProperties p = d.getProperties();
        Map<String, String> headers = new HashMap<>();
        if (p.getHeaders() != null) {
            p.getHeaders().forEach((k, v) -> headers.put(k, String.valueOf(v)));
        }
        if (BatchFormat.CONTENT_TYPE.equals(p.getContentType())) {
            BusBatch batch = BatchFormat.decode(d.getBody());
            List<BusEvent> out = new ArrayList<>(batch.getEventsCount());
            for (BusEvent e : batch.getEventsList()) {
                out.add(e.toBuilder().setEvent(e.getEvent().toBuilder()
                        .putHeaders(ContextureFormat.HOSTNAME_HEADER, batch.getHost())).build());
            }
            return out;
        }
        return List.of(ContextureFormat.decode(d.getEnvelope().getRoutingKey(), headers, d.getBody()));
    }

    private void closeConnection() {
        Connection c = connection;
        connection = null;
        active.forEach(this::forget);
        if (c != null) {
            try {
                c.close(1_000);
            } catch (IOException | RuntimeException ignored) {
                // Already gone: nothing to release.
            }
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(3_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The subscription's queue is gone or going: drops are no longer charged to it. */
    private void forget(Subscription s) {
        if (s.queue != null) {
            byQueue.remove(s.queue);
            s.queue = null;
        }
        s.channel = null;
    }

    /** One consumer queue: a BUS watch's, or the always-on fleet one (no watcher). */
    private static final class Subscription {
        final Watcher watcher;
        final ObjectFilter filter;
        Channel channel;
        String queue;

        Subscription(Watcher watcher, ObjectFilter filter) {
            this.watcher = watcher;
            this.filter = filter;
        }

        void close() {
            Channel ch = channel;
            channel = null;
            if (ch != null && ch.isOpen()) {
                try {
                    ch.close();
                } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException ignored) {
                    // The channel's queue is exclusive and auto-deleted: closing is all the clean-up there is.
                }
            }
        }
    }
}
