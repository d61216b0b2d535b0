package io.weft.daemon.it;

import static io.weft.daemon.it.Api.event;
import static io.weft.daemon.it.Api.fields;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.BusBatch;
import io.weft.api.v1.BusEvent;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.FlushRequest;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.LogLevel;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.QueueInfo;
import io.weft.daemon.testing.Rabbit;
import io.weft.daemon.testing.WeftdProcess;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Every message kind on a real RabbitMQ, read by a plain AMQP consumer ({@link Rabbit.Tap}) and
 * checked field by field against DESIGN §6: body fields, properties and headers.
 */
class BusWireFormatIT {

    private static final long T0 = 1_763_784_000_123_456_000L;

    @Test
    void shouldPublishEveryKindInContextureFormatWhenTheBusIsConfigured() throws Exception {
        String exchange = Rabbit.freshExchange();
        try (Rabbit.Tap tap = Rabbit.tap(exchange, "#");
                WeftdProcess weftd = WeftdProcess.builder()
                        .env("WEFT_BUS_URL", Rabbit.url())
                        .env("WEFT_BUS_EXCHANGE", exchange)
                        .start()) {
            publish(weftd, lifeOfOneObjectAndATransient());
            List<Rabbit.Message> got = tap.await(6, Duration.ofSeconds(20));
            String instance = AdminServiceGrpc.newBlockingStub(weftd.channel())
                    .info(InfoRequest.getDefaultInstance()).getInstanceId();
            String host = weftd.daemonId();

            for (Rabbit.Message m : got) {
                assertEquals("application/json", m.properties().getContentType());
                assertEquals("weftd", m.properties().getAppId());
                assertEquals(2, m.properties().getDeliveryMode());
                assertNotNull(m.properties().getTimestamp());
                assertEquals(host, m.header("hostname"));
                JsonObject b = JsonParser.parseString(m.text()).getAsJsonObject();
                assertEquals(b.get("obj_id").getAsString() + ":" + b.get("seq").getAsLong(),
                        m.properties().getMessageId());
                assertEquals(instance, b.get("handler_id").getAsString());
                assertEquals(host, b.get("host").getAsString());
                BigDecimal in = b.get("time_in").getAsBigDecimal();
                BigDecimal out = b.get("time_out").getAsBigDecimal();
                assertTrue(out.compareTo(in) >= 0, "time_out >= time_in");
                assertEquals(out.subtract(in).doubleValue(), b.get("qtime").getAsDouble(), 1e-5);
                assertTrue(b.get("qlen").getAsLong() >= 0);
            }

            Rabbit.Message born = got.get(0);
            assertEquals("shop.checkout", born.routingKey());
            assertEquals("prod", born.header("env"));
            assertKeys(born, "obj_id", "status", "obj", "time_in", "time_out", "qtime", "qlen", "handler_id", "seq", "host");
            JsonObject bornBody = body(born);
            assertEquals("born", bornBody.get("status").getAsString());
            assertEquals("req-1", bornBody.get("obj_id").getAsString());
            assertEquals("http://example.com", bornBody.getAsJsonObject("obj").get("url").getAsString());
            assertEquals(new BigDecimal("1763784000.123456000"), bornBody.get("time_in").getAsBigDecimal());
            assertEquals(1, bornBody.get("seq").getAsLong());

            Rabbit.Message update = got.get(1);
            assertKeys(update, "obj_id", "obj", "time_in", "time_out", "qtime", "qlen", "handler_id", "seq", "host");
            assertEquals(200, body(update).getAsJsonObject("obj").get("status").getAsInt());
            assertEquals("prod", update.header("env"), "the object's headers travel on every message");

            Rabbit.Message log = got.get(2);
            assertKeys(log, "obj_id", "obj", "message", "time_in", "time_out", "qtime", "qlen", "handler_id", "seq", "host");
            assertEquals("fetched in 12 ms", body(log).get("message").getAsString());
            assertEquals(12, body(log).getAsJsonObject("obj").get("ms").getAsInt());

            Rabbit.Message delete = got.get(3);
            assertKeys(delete, "obj_id", "obj", "action", "time_in", "time_out", "qtime", "qlen", "handler_id", "seq", "host");
            assertEquals("delete", body(delete).get("action").getAsString());
            assertTrue(body(delete).getAsJsonObject("obj").get("url").isJsonNull());

            Rabbit.Message finished = got.get(4);
            assertKeys(finished, "obj_id", "status", "obj", "elapsed", "time_in", "time_out", "qtime", "qlen",
                    "handler_id", "seq", "host");
            assertEquals("finished", body(finished).get("status").getAsString());
            assertEquals(2.5, body(finished).get("elapsed").getAsDouble(), 1e-9);
            assertEquals("req-1:5", finished.properties().getMessageId());

            Rabbit.Message trans = got.get(5);
            assertEquals("shop.audit", trans.routingKey());
            assertKeys(trans, "obj_id", "status", "obj", "time_in", "time_out", "qtime", "qlen", "handler_id", "seq", "host");
            assertEquals("transient", body(trans).get("status").getAsString());
            assertEquals("alice", body(trans).getAsJsonObject("obj").get("user").getAsString());
            assertEquals(null, trans.header("env"));

            QueueInfo bus = weftd.queue("bus");
            assertEquals("connected", bus.getState());
            assertEquals(6, bus.getCountersOrThrow("published"));
            assertEquals(6, bus.getCountersOrThrow("confirmed"));
            assertEquals(0, bus.getDropsOrThrow("full"));
        }
    }

    @Test
    void shouldCarryManyEventsPerMessageWhenTheFormatIsBatch() throws Exception {
        String exchange = Rabbit.freshExchange();
        try (Rabbit.Tap tap = Rabbit.tap(exchange, "#");
                WeftdProcess weftd = WeftdProcess.builder()
                        .env("WEFT_BUS_URL", Rabbit.url())
                        .env("WEFT_BUS_EXCHANGE", exchange)
                        .env("WEFT_BUS_FORMAT", "batch")
                        .start()) {
            List<ContextEvent> events = new ArrayList<>(lifeOfOneObjectAndATransient());
            publish(weftd, events);
            List<BusEvent> received = new ArrayList<>();
            tap.await(1, Duration.ofSeconds(20));
            io.weft.daemon.testing.Poll.until(Duration.ofSeconds(20), () -> {
                received.clear();
                for (Rabbit.Message m : tap.messages()) {
                    received.addAll(batch(m).getEventsList());
                }
                return received.size() >= events.size();
            }, () -> "expected " + events.size() + " events in batches, got " + received.size());

            for (Rabbit.Message m : tap.messages()) {
                assertEquals("application/x-protobuf", m.properties().getContentType());
                assertEquals("weft.v1.BusBatch", m.properties().getType());
                assertEquals(weftd.daemonId(), m.header("hostname"));
                BusBatch b = batch(m);
                assertEquals(weftd.daemonId(), b.getHost());
                assertTrue(b.getTimeOutUnixNanos() > 0);
                for (BusEvent e : b.getEventsList()) {
                    assertEquals(m.routingKey(), e.getEvent().getRoutingKey(), "one routing key per message");
                }
            }
            assertEquals(6, received.size());
            BusEvent born = received.get(0);
            assertEquals(EventKind.EVENT_KIND_BORN, born.getEvent().getKind());
            assertEquals("prod", born.getEvent().getHeadersOrThrow("env"));
            assertEquals(T0, born.getEvent().getTimeUnixNanos());
            BusEvent finished = received.get(4);
            assertEquals(ObjectState.OBJECT_STATE_FINISHED, finished.getEndState());
            assertEquals(2.5, finished.getElapsedSeconds(), 1e-9);
            assertEquals(ObjectState.OBJECT_STATE_TRANSIENT, received.get(5).getEndState());

            // Many events per message: 1,000 events offered in one broker cycle cannot leave one by one.
            int before = tap.messages().size();
            List<ContextEvent> many = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                many.add(event("many-" + i, EventKind.EVENT_KIND_TRANSIENT, 1).setRoutingKey("shop.bulk").build());
            }
            publish(weftd, many);
            List<BusEvent> bulk = new ArrayList<>();
            io.weft.daemon.testing.Poll.until(Duration.ofSeconds(20), () -> {
                bulk.clear();
                tap.messages().stream().skip(before).forEach(m -> bulk.addAll(batch(m).getEventsList()));
                return bulk.size() >= many.size();
            }, () -> "bulk events arrived: " + bulk.size());
            int messages = tap.messages().size() - before;
            assertTrue(messages <= many.size() / 2, many.size() + " events came in " + messages + " messages");
        }
    }

    private static List<ContextEvent> lifeOfOneObjectAndATransient() {
        return List.of(
                event("req-1", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("shop.checkout")
                        .putHeaders("env", "prod").setFields(fields(Map.of("url", "http://example.com")))
                        .setTimeUnixNanos(T0).build(),
                event("req-1", EventKind.EVENT_KIND_UPDATE, 2).setRoutingKey("shop.checkout")
                        .setFields(fields(Map.of("status", 200))).setTimeUnixNanos(T0 + 1_000_000_000L).build(),
                event("req-1", EventKind.EVENT_KIND_LOG, 3).setRoutingKey("shop.checkout")
                        .setMessage("fetched in 12 ms").setLevel(LogLevel.LOG_LEVEL_INFO)
                        .setFields(fields(Map.of("ms", 12))).setTimeUnixNanos(T0 + 1_500_000_000L).build(),
                event("req-1", EventKind.EVENT_KIND_DELETE, 4).setRoutingKey("shop.checkout")
                        .addDeleted("url").setTimeUnixNanos(T0 + 2_000_000_000L).build(),
                event("req-1", EventKind.EVENT_KIND_FINISHED, 5).setRoutingKey("shop.checkout")
                        .setTimeUnixNanos(T0 + 2_500_000_000L).build(),
                event("audit-1", EventKind.EVENT_KIND_TRANSIENT, 1).setRoutingKey("shop.audit")
                        .setFields(fields(Map.of("user", "alice"))).setTimeUnixNanos(T0).build());
    }

    private static void publish(WeftdProcess weftd, List<ContextEvent> events) {
        ContextServiceGrpc.ContextServiceBlockingStub context =
                ContextServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(30, TimeUnit.SECONDS);
        context.publishEvents(PublishEventsRequest.newBuilder().addAllEvents(events).build());
        assertTrue(context.flush(FlushRequest.getDefaultInstance()).getComplete(), "flushed to the broker");
    }


    private static JsonObject body(Rabbit.Message m) {
        return JsonParser.parseString(m.text()).getAsJsonObject();
    }

    private static void assertKeys(Rabbit.Message m, String... keys) {
        assertEquals(new TreeSet<>(Set.of(keys)), new TreeSet<>(body(m).keySet()), "body fields of " + m.text());
    }

    private static BusBatch batch(Rabbit.Message m) {
        try {
            return BusBatch.parseFrom(m.body());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError("not a BusBatch", e);
        }
    }
}
