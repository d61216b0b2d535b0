package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import io.weft.api.v1.QueueInfo;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.Rabbit;
import io.weft.daemon.testing.WeftdProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Fault tests of the bus with real parts: the Java SDK publishing at a steady rate through a real
 * weftd to a real RabbitMQ, which is stopped ({@code rabbitmqctl stop_app}) for 20 s, and a weftd
 * killed with SIGKILL. A plain AMQP consumer on a durable queue counts what arrived.
 */
class BusFaultIT {

    private static final String KEY = "bus.fault";
    private static final int RATE_PER_SECOND = 200;
    private static final Duration OUTAGE = Duration.ofSeconds(20);
    private static final Duration ARRIVAL = Duration.ofSeconds(90);

    private final List<String> sent = new CopyOnWriteArrayList<>();
    private final AtomicBoolean publishing = new AtomicBoolean(true);
    private Thread publisher;

    @AfterEach
    void brokerBack() throws Exception {
        publishing.set(false);
        if (publisher != null) {
            publisher.join();
        }
        Rabbit.startApp();
    }

    @Test
    void shouldDeliverEveryAcceptedEventWhenTheBrokerIsDownFor20sWithTheSpool() throws Exception {
        String exchange = Rabbit.freshExchange();
        Path spool = Files.createTempDirectory("weft-spool-");
        try (Rabbit.Tap tap = Rabbit.tap(exchange, "#");
                WeftdProcess weftd = bus(exchange).env("WEFT_BUS_POLICY", "spool")
                        .env("WEFT_SPOOL_DIR", spool.toString()).start();
                Weft weft = Weft.builder().address(weftd.target()).build()) {
            startPublishing(weft);
            tap.await(RATE_PER_SECOND, ARRIVAL);

            Rabbit.stopApp();
            Poll.until(Duration.ofSeconds(20), () -> weftd.queue("bus").getState().equals("disconnected"),
                    () -> "weftd noticed the broker is gone: " + weftd.queue("bus"));
            holdOutage();
            QueueInfo during = weftd.queue("bus");
            assertTrue(during.getCountersOrThrow("spool_bytes") > 0, "events wait in the spool: " + during);
            Rabbit.startApp();
            tap.reconnect();

            stopPublishingAfter(weft, Duration.ofSeconds(2));
            assertEquals(0, weft.dropped() + weft.droppedByDaemon(), "the SDK and weftd accepted every event");
            Set<String> arrived = awaitIds(tap, new HashSet<>(sent));
            assertTrue(arrived.containsAll(sent), "every accepted event arrived: missing "
                    + missing(arrived) + " of " + sent.size());
            QueueInfo after = weftd.queue("bus");
            assertEquals(0, after.getDropsOrThrow("full") + after.getDropsOrThrow("spool_full")
                    + after.getDropsOrThrow("spool_error"), "nothing dropped: " + after);
            assertTrue(after.getCountersOrThrow("reconnects") >= 1);
            assertDuplicatesAreRedeliveries(tap);
        }
    }

    @Test
    void shouldLoseExactlyTheCountedEventsWhenTheBrokerIsDownFor20sWithDrop() throws Exception {
        String exchange = Rabbit.freshExchange();
        try (Rabbit.Tap tap = Rabbit.tap(exchange, "#");
                WeftdProcess weftd = bus(exchange).env("WEFT_BUS_POLICY", "drop").env("WEFT_BUS_CAPACITY", "500")
                        .start();
                Weft weft = Weft.builder().address(weftd.target()).build()) {
            startPublishing(weft);
            tap.await(RATE_PER_SECOND, ARRIVAL);

            Rabbit.stopApp();
            Poll.until(Duration.ofSeconds(20), () -> weftd.queue("bus").getState().equals("disconnected"),
                    () -> "weftd noticed the broker is gone: " + weftd.queue("bus"));
            holdOutage();
            Rabbit.startApp();
            tap.reconnect();

            stopPublishingAfter(weft, Duration.ofSeconds(2));
            assertEquals(0, weft.dropped() + weft.droppedByDaemon(), "the SDK and weftd accepted every event");
            long dropped = weftd.queue("bus").getDropsOrThrow("full");
            assertTrue(dropped > 0, "a 20 s outage overflows a 500-event queue at " + RATE_PER_SECOND + "/s");
            long expected = sent.size() - dropped;
            Poll.until(ARRIVAL, () -> ids(tap).size() >= expected,
                    () -> "expected " + expected + " distinct events (" + sent.size() + " sent - " + dropped
                            + " dropped), got " + ids(tap).size());
            assertEquals(expected, ids(tap).size(), "lost = the drop counter, exactly");
            assertTrue(weftd.output().contains("bus queue full"), "one 'queue full' line per episode");
            Poll.until(Duration.ofSeconds(10), () -> weftd.output().contains("msg=\"bus queue recovered\" lost=" + dropped),
                    () -> "a 'recovered, N lost' line with N = " + dropped + " in:\n" + weftd.output());
            assertDuplicatesAreRedeliveries(tap);
        }
    }

    @Test
    void shouldDeliverEveryFlushedEventWhenWeftdIsKilledMidStreamWithTheSpool() throws Exception {
        String exchange = Rabbit.freshExchange();
        Path spool = Files.createTempDirectory("weft-spool-");
        List<String> flushed = new CopyOnWriteArrayList<>();
        try (Rabbit.Tap tap = Rabbit.tap(exchange, "#");
                WeftdProcess weftd = bus(exchange).env("WEFT_BUS_POLICY", "spool")
                        .env("WEFT_SPOOL_DIR", spool.toString()).start()) {
            Weft weft = Weft.builder().address(weftd.target()).build();
            publisher = new Thread(() -> {
                int i = 0;
                while (publishing.get()) {
                    List<String> batch = new java.util.ArrayList<>();
                    for (int k = 0; k < 20; k++) {
                        batch.add(weft.push(KEY, Map.of("i", i++)));
                    }
                    if (weft.flush(Duration.ofSeconds(2))) {
                        flushed.addAll(batch);
                    }
                }
            }, "steady-publisher");
            publisher.start();
            Poll.until(ARRIVAL, () -> flushed.size() >= 400, () -> "flushed " + flushed.size());
            Rabbit.stopApp();
            Poll.until(Duration.ofSeconds(30), () -> flushed.size() >= 1200,
                    () -> "flushed into the spool while the broker is down: " + flushed.size());

            weftd.kill9();
            publishing.set(false);
            publisher.join();
            weft.close();
            List<String> confirmedBeforeKill = List.copyOf(flushed);

            Rabbit.startApp();
            tap.reconnect();
            weftd.restart();
            Set<String> arrived = awaitIds(tap, new HashSet<>(confirmedBeforeKill));
            assertTrue(arrived.containsAll(confirmedBeforeKill), "every event flushed before the kill arrived: missing "
                    + confirmedBeforeKill.stream().filter(id -> !arrived.contains(id)).count());
            assertTrue(weftd.output().contains("spool recovered"), weftd.output());
        }
    }

    private static WeftdProcess.Builder bus(String exchange) {
        return WeftdProcess.builder().env("WEFT_BUS_URL", Rabbit.url()).env("WEFT_BUS_EXCHANGE", exchange)
                .env("WEFT_BUS_RECONNECT_MAX", "500ms");
    }

    /** Publishes one transient event per tick at a steady rate until told to stop. */
    private void startPublishing(Weft weft) {
        publisher = new Thread(() -> {
            long periodNs = 1_000_000_000L / RATE_PER_SECOND;
            long next = System.nanoTime();
            int i = 0;
            while (publishing.get()) {
                sent.add(weft.push(KEY, Map.of("i", i++)));
                next += periodNs;
                LockSupport.parkNanos(next - System.nanoTime());
            }
        }, "steady-publisher");
        publisher.start();
    }

    private void stopPublishingAfter(Weft weft, Duration more) throws InterruptedException {
        int target = sent.size() + (int) (more.toSeconds() * RATE_PER_SECOND);
        Poll.until(Duration.ofSeconds(30), () -> sent.size() >= target, () -> "published " + sent.size());
        publishing.set(false);
        publisher.join();
        assertTrue(weft.flush(Duration.ofSeconds(60)), "every accepted event confirmed or spooled");
    }

    /** The outage is the scenario itself: the publisher keeps going at its rate for this long. */
    private static void holdOutage() {
        long end = System.nanoTime() + OUTAGE.toNanos();
        while (System.nanoTime() - end < 0) {
            LockSupport.parkNanos(end - System.nanoTime());
        }
    }

    private static Set<String> awaitIds(Rabbit.Tap tap, Set<String> wanted) {
        Poll.until(ARRIVAL, () -> ids(tap).containsAll(wanted),
                () -> "arrived " + ids(tap).size() + " distinct of " + wanted.size());
        return ids(tap);
    }

    private Set<String> missing(Set<String> arrived) {
        Set<String> m = new HashSet<>(sent);
        m.removeAll(arrived);
        return m.size() > 10 ? Set.of(m.size() + " ids") : m;
    }

    private static Set<String> ids(Rabbit.Tap tap) {
        Set<String> ids = new HashSet<>();
        for (Rabbit.Message m : tap.messages()) {
            ids.add(JsonParser.parseString(m.text()).getAsJsonObject().get("obj_id").getAsString());
        }
        return ids;
    }

    /** A message seen twice is a redelivery of the same event: same message_id, same body fields. */
    private static void assertDuplicatesAreRedeliveries(Rabbit.Tap tap) {
        Map<String, String> objById = new java.util.HashMap<>();
        for (Rabbit.Message m : tap.messages()) {
            var body = JsonParser.parseString(m.text()).getAsJsonObject();
            assertEquals(body.get("obj_id").getAsString() + ":" + body.get("seq").getAsLong(), m.properties().getMessageId());
            String obj = body.get("obj").toString();
            String before = objById.putIfAbsent(m.properties().getMessageId(), obj);
            if (before != null) {
                assertEquals(before, obj, "a duplicate carries the same event");
            }
        }
    }

}
