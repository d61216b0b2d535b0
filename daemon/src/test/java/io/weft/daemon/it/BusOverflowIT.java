package io.weft.daemon.it;

import static io.weft.daemon.it.Api.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.QueueInfo;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.Rabbit;
import io.weft.daemon.testing.WeftdProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What weftd does when RabbitMQ cannot take more: a nacked message is sent again until the broker
 * takes it; a full spool drops the newest events and counts exactly those.
 */
class BusOverflowIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private static void publish(WeftdProcess weftd, String prefix, int n) {
        PublishEventsRequest.Builder b = PublishEventsRequest.newBuilder();
        for (int i = 0; i < n; i++) {
            b.addEvents(event(prefix + "-" + i, EventKind.EVENT_KIND_TRANSIENT, 1)
                    .setFields(Api.fields(Map.of("pad", "x".repeat(200)))));
            if (b.getEventsCount() == 500 || i == n - 1) {
                Api.publishRetrying(ContextServiceGrpc.newBlockingStub(weftd.channel()), b.build(), WAIT);
                b = PublishEventsRequest.newBuilder();
            }
        }
    }

    @Test
    void shouldSendNackedEventsAgainUntilTheBrokerTakesThem() throws Exception {
        int n = 20;
        try (Rabbit.Exchange ex = Rabbit.exchange(); Connection c = Rabbit.connect()) {
            Channel ch = c.createChannel();
            ch.exchangeDeclare(ex.name(), "topic", true); // as weftd declares it
            // A queue that refuses what does not fit: RabbitMQ nacks a message routed to it when full.
            String q = ch.queueDeclare("weft-nack-" + UUID.randomUUID(), false, true, true,
                    Map.of("x-max-length", 5, "x-overflow", "reject-publish")).getQueue();
            ch.queueBind(q, ex.name(), "#");
            try (WeftdProcess weftd = WeftdProcess.builder().env("WEFT_BUS_URL", Rabbit.url())
                    .env("WEFT_BUS_EXCHANGE", ex.name()).env("WEFT_BUS_RECONNECT_MAX", "500ms").start()) {
                publish(weftd, "nack", n);
                Poll.until(WAIT, () -> weftd.queue("bus").getCountersOrThrow("nacked") > 0, "the broker nacked");
                // Consumed as it goes, the queue makes room; resent duplicates (at-least-once) need room too.
                Set<String> ids = new HashSet<>();
                Poll.until(WAIT, () -> {
                    try {
                        for (GetResponse r; (r = ch.basicGet(q, true)) != null; ) {
                            ids.add(r.getProps().getMessageId());
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    return ids.size() == n && weftd.queue("bus").getDepth() == 0;
                }, () -> ids.size() + " of " + n + " taken so far; bus " + weftd.queue("bus"));
                QueueInfo bus = weftd.queue("bus");
                assertEquals(0, bus.getDropsOrThrow("full"), bus.toString());
                assertEquals(n, ids.size());
            }
        }
    }

    @Test
    void shouldDropAndCountExactlyTheNewestEventsWhenTheSpoolIsFull() throws Exception {
        int n = 20_000;
        Path spool = Files.createTempDirectory("weft-spool-");
        try (Rabbit.Exchange ex = Rabbit.exchange();
                Rabbit.Tap tap = Rabbit.tap(ex.name(), "#");
                WeftdProcess weftd = WeftdProcess.builder().env("WEFT_BUS_URL", Rabbit.url())
                        .env("WEFT_BUS_EXCHANGE", ex.name()).env("WEFT_BUS_POLICY", "spool")
                        .env("WEFT_SPOOL_DIR", spool.toString()).env("WEFT_SPOOL_MAX_BYTES", "1MiB")
                        .env("WEFT_SPOOL_SEGMENT_BYTES", "64KiB").env("WEFT_BUS_RECONNECT_MAX", "500ms").start()) {
            long spoolFull;
            long queueFull;
            Rabbit.stopApp();
            try {
                publish(weftd, "full", n);
                Poll.until(WAIT, () -> settled(weftd, n), () -> "every event spooled or dropped: " + weftd.queue("bus"));
                spoolFull = weftd.queue("bus").getDropsOrThrow("spool_full");
                // A bus thread that runs late may also find the queue before the spool full: counted apart.
                queueFull = weftd.queue("bus").getDropsOrThrow("full");
                assertTrue(spoolFull > 0 && spoolFull < n, "a 1 MiB spool holds some of " + n + " events: " + spoolFull);
                assertTrue(weftd.queue("bus").getCountersOrThrow("spool_bytes") <= 1024 * 1024,
                        weftd.queue("bus").toString());
            } finally {
                Rabbit.startApp();
            }
            tap.reconnect();
            long expected = n - spoolFull - queueFull;
            Poll.until(WAIT, () -> ids(tap).size() == expected,
                    () -> "delivered " + ids(tap).size() + " of the " + expected + " spooled events; " + tap.state()
                            + "; " + weftd.queue("bus") + "; weftd's bus log:\n" + busLog(weftd));
            Poll.until(WAIT, () -> weftd.queue("bus").getDepth() == 0, () -> "the spool emptied: " + weftd.queue("bus"));
            assertEquals(spoolFull, weftd.queue("bus").getDropsOrThrow("spool_full"), "no drop after the broker returned");
        }
    }

    /**
     * Every event is in the spool or counted as dropped (with the broker down, nothing is confirmed).
     * Counted by the spool's own depth ({@code unconfirmed}), not the queue's: the queue's depth also
     * counts events still waiting for the bus thread, which may yet find the spool full.
     */
    private static boolean settled(WeftdProcess weftd, int n) {
        QueueInfo bus = weftd.queue("bus");
        return bus.getCountersOrThrow("unconfirmed") + bus.getDropsOrThrow("spool_full") + bus.getDropsOrThrow("full") == n;
    }

    /** weftd's log lines about the bus, to tell on failure what the publisher went through. */
    private static String busLog(WeftdProcess weftd) {
        return weftd.output().lines().filter(l -> l.contains("bus")).collect(Collectors.joining("\n"));
    }

    private static Set<String> ids(Rabbit.Tap tap) {
        Set<String> ids = new HashSet<>();
        tap.messages().forEach(m -> ids.add(m.properties().getMessageId()));
        return ids;
    }
}
