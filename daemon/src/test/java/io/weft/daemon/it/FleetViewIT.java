package io.weft.daemon.it;

import static io.weft.daemon.it.Api.event;
import static io.weft.daemon.it.Api.fields;
import static io.weft.daemon.it.Api.reason;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.FlushRequest;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.HeaderMatch;
import io.weft.api.v1.ListObjectsRequest;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.Source;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchRequest;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.Rabbit;
import io.weft.daemon.testing.WeftdProcess;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The fleet view: two weftd publish to one RabbitMQ; a third collates objects from both through
 * its own queues (Watch and ListObjects with source BUS), telling the hosts apart by the
 * {@code hostname} header.
 */
class FleetViewIT {

    private static final Duration ARRIVAL = Duration.ofSeconds(20);

    @Test
    void shouldCollateObjectsOfEveryHostWhenWatchingTheBus() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess a = onBus(ex.name()).start();
                WeftdProcess b = onBus(ex.name()).start();
                WeftdProcess fleet = onBus(ex.name()).env("WEFT_BUS_FLEET", "shop.#").start()) {
            List<ContextObject> watched = new CopyOnWriteArrayList<>();
            ViewServiceGrpc.newStub(fleet.channel()).watch(WatchRequest.newBuilder()
                    .setSource(Source.SOURCE_BUS).setMode(WatchMode.WATCH_MODE_OBJECTS)
                    .setFilter(ObjectFilter.newBuilder().addRoutingKeys("shop.*")).build(), collect(watched, r -> r.getObject()));
            awaitConsuming(fleet, 2);

            publish(a, List.of(
                    event("a-1", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("shop.cart").putHeaders("env", "prod")
                            .setFields(fields(Map.of("items", 2))).build(),
                    event("a-1", EventKind.EVENT_KIND_UPDATE, 2).setRoutingKey("shop.cart")
                            .setFields(fields(Map.of("total", 30))).build(),
                    event("a-1", EventKind.EVENT_KIND_FINISHED, 3).setRoutingKey("shop.cart").build()));
            publish(b, List.of(
                    event("b-1", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("shop.pay")
                            .setFields(fields(Map.of("amount", 30))).build(),
                    event("b-1", EventKind.EVENT_KIND_FINISHED, 2).setRoutingKey("shop.pay").build()));

            Poll.until(ARRIVAL, () -> watched.size() >= 2, () -> "objects from both hosts: " + watched);
            ContextObject fromA = byId(watched, "a-1");
            ContextObject fromB = byId(watched, "b-1");
            assertEquals(a.daemonId(), fromA.getHeadersOrThrow("hostname"));
            assertEquals(a.daemonId(), fromA.getDaemonId());
            assertEquals("prod", fromA.getHeadersOrThrow("env"));
            assertEquals(ObjectState.OBJECT_STATE_FINISHED, fromA.getState());
            assertEquals(Map.of("items", 2.0, "total", 30.0), numbers(fromA));
            assertEquals(b.daemonId(), fromB.getHeadersOrThrow("hostname"));
            assertEquals(b.daemonId(), fromB.getDaemonId());

            ViewServiceGrpc.ViewServiceBlockingStub view = ViewServiceGrpc.newBlockingStub(fleet.channel())
                    .withDeadlineAfter(10, TimeUnit.SECONDS);
            Poll.until(ARRIVAL, () -> view.listObjects(ListObjectsRequest.newBuilder().setSource(Source.SOURCE_BUS).build())
                    .getObjectsCount() == 2, () -> "ListObjects(source=BUS) lists both");
            ContextObject got = view.getObject(GetObjectRequest.newBuilder().setSource(Source.SOURCE_BUS).setId("b-1").build())
                    .getObject();
            assertEquals(b.daemonId(), got.getDaemonId());
            assertThrows(StatusRuntimeException.class, () -> view.getObject(GetObjectRequest.newBuilder().setId("b-1").build()),
                    "the local view of the fleet daemon has no such object");
        }
    }

    @Test
    void shouldDeliverOnlyMatchingHostsWhenWatchingMessagesWithHeaderArguments() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess a = onBus(ex.name()).start();
                WeftdProcess b = onBus(ex.name()).start();
                WeftdProcess fleet = onBus(ex.name()).start()) {
            List<ContextEvent> watched = new CopyOnWriteArrayList<>();
            ViewServiceGrpc.newStub(fleet.channel()).watch(WatchRequest.newBuilder()
                    .setSource(Source.SOURCE_BUS).setMode(WatchMode.WATCH_MODE_MESSAGES)
                    .setFilter(ObjectFilter.newBuilder().putHeaders("hostname", a.daemonId())
                            .setHeaderMatch(HeaderMatch.HEADER_MATCH_ALL)).build(), collect(watched, r -> r.getMessage()));
            awaitConsuming(fleet, 1);

            try (com.rabbitmq.client.Connection c = Rabbit.connect(); com.rabbitmq.client.Channel ch = c.createChannel()) {
                ch.basicPublish(ex.name(), "ops.ping", new com.rabbitmq.client.AMQP.BasicProperties.Builder()
                        .contentType("application/json").headers(Map.of("hostname", a.daemonId())).build(),
                        "not json".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            Poll.until(ARRIVAL, () -> fleet.queue("bus.monitor").getDropsOrThrow("bad_message") == 1,
                    () -> "a message that is not weft's is skipped and counted: " + fleet.queue("bus.monitor"));
            publish(b, List.of(event("b-2", EventKind.EVENT_KIND_TRANSIENT, 1).setRoutingKey("ops.ping").build()));
            publish(a, List.of(event("a-2", EventKind.EVENT_KIND_TRANSIENT, 1).setRoutingKey("ops.ping").build()));
            Poll.until(ARRIVAL, () -> !watched.isEmpty(), () -> "a message from " + a.daemonId());
            // b-2 was confirmed (so routed) before a-2 was sent; one queue is FIFO: had it matched, it came first.
            assertEquals(List.of("a-2"), watched.stream().map(ContextEvent::getId).toList());
            assertEquals(EventKind.EVENT_KIND_TRANSIENT, watched.get(0).getKind());
        }
    }

    @Test
    void shouldRefuseFleetReadsWhenThereIsNoBusOrNoFleetView() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess local = WeftdProcess.builder().start();
                WeftdProcess noFleet = onBus(ex.name()).start()) {
            StatusRuntimeException noBus = assertThrows(StatusRuntimeException.class,
                    () -> ViewServiceGrpc.newBlockingStub(local.channel())
                            .listObjects(ListObjectsRequest.newBuilder().setSource(Source.SOURCE_BUS).build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, noBus.getStatus().getCode());
            assertEquals("BUS_UNAVAILABLE", reason(noBus));

            StatusRuntimeException off = assertThrows(StatusRuntimeException.class,
                    () -> ViewServiceGrpc.newBlockingStub(noFleet.channel())
                            .listObjects(ListObjectsRequest.newBuilder().setSource(Source.SOURCE_BUS).build()));
            assertEquals("BUS_UNAVAILABLE", reason(off));
            assertTrue(off.getStatus().getDescription().contains("bus.fleet"), off.getStatus().getDescription());
        }
    }

    private static WeftdProcess.Builder onBus(String exchange) {
        return WeftdProcess.builder().env("WEFT_BUS_URL", Rabbit.url()).env("WEFT_BUS_EXCHANGE", exchange);
    }

    private static void publish(WeftdProcess d, List<ContextEvent> events) {
        ContextServiceGrpc.ContextServiceBlockingStub c =
                ContextServiceGrpc.newBlockingStub(d.channel()).withDeadlineAfter(20, TimeUnit.SECONDS);
        c.publishEvents(PublishEventsRequest.newBuilder().addAllEvents(events).build());
        assertTrue(c.flush(FlushRequest.getDefaultInstance()).getComplete(), "confirmed by the broker");
    }

    private static void awaitConsuming(WeftdProcess d, int queues) {
        Poll.until(ARRIVAL, () -> d.queue("bus.monitor").getDepth() >= queues, () -> "monitor queues consuming: " + d.queue("bus.monitor"));
    }


    private static <T> StreamObserver<WatchResponse> collect(List<T> into, java.util.function.Function<WatchResponse, T> item) {
        return new StreamObserver<>() {
            @Override
            public void onNext(WatchResponse r) {
                if (r.hasObject() || r.hasMessage()) {
                    into.add(item.apply(r));
                }
            }

            @Override
            public void onError(Throwable t) {
                // The daemon closes the stream when the test ends.
            }

            @Override
            public void onCompleted() {
                // Nothing more to collect.
            }
        };
    }

    private static ContextObject byId(List<ContextObject> objects, String id) {
        return objects.stream().filter(o -> o.getId().equals(id)).findFirst().orElseThrow(() -> new AssertionError(id + " in " + objects));
    }

    private static Map<String, Double> numbers(ContextObject o) {
        java.util.TreeMap<String, Double> m = new java.util.TreeMap<>();
        o.getFields().getFieldsMap().forEach((k, v) -> m.put(k, v.getNumberValue()));
        return m;
    }
}
