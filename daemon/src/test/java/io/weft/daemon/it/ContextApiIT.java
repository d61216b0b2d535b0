package io.weft.daemon.it;

import static io.weft.daemon.it.Api.event;
import static io.weft.daemon.it.Api.fields;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.FlushRequest;
import io.weft.api.v1.FlushResponse;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.InfoResponse;
import io.weft.api.v1.ListObjectsRequest;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.Projection;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import io.weft.api.v1.QueueInfo;
import io.weft.api.v1.QueuesRequest;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchRequest;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The context and view APIs against a real weftd, through raw stubs. */
class ContextApiIT {

    private static WeftdProcess weftd;
    private static ContextServiceGrpc.ContextServiceBlockingStub context;
    private static ViewServiceGrpc.ViewServiceBlockingStub view;

    @BeforeAll
    static void start() throws Exception {
        weftd = WeftdProcess.builder().tcp(true).start();
        context = ContextServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(30, TimeUnit.SECONDS);
        view = ViewServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        weftd.close();
    }

    @Test
    void shouldServeBothListenersWhenSocketAndTcpAreOn() throws Exception {
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(weftd.socketPath())));
        ManagedChannel tcp = Grpc.newChannelBuilder("127.0.0.1:" + weftd.tcpPort(),
                InsecureChannelCredentials.create()).build();
        try {
            HealthCheckResponse health = HealthGrpc.newBlockingStub(tcp).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance());
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
            InfoResponse info = AdminServiceGrpc.newBlockingStub(tcp).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .info(InfoRequest.getDefaultInstance());
            assertTrue(info.getDaemonId().startsWith("test-"));
            assertEquals(2, info.getListenCount());
            assertFalse(info.getInstanceId().isEmpty());
        } finally {
            tcp.shutdownNow();
        }
    }

    @Test
    void shouldCollateExactlyWhenWholeLifetimeIsPublished() {
        context.publishEvents(PublishEventsRequest.newBuilder()
                .addEvents(event("life-1", EventKind.EVENT_KIND_BORN, 1).setFields(fields(Map.of("url", "http://a")))
                        .putHeaders("env", "test"))
                .addEvents(event("life-1", EventKind.EVENT_KIND_UPDATE, 2).setFields(fields(Map.of("status", 200))))
                .addEvents(event("life-1", EventKind.EVENT_KIND_LOG, 3).setMessage("status is 200"))
                .addEvents(event("life-1", EventKind.EVENT_KIND_DELETE, 4).addDeleted("url"))
                .addEvents(event("life-1", EventKind.EVENT_KIND_FINISHED, 5))
                .build());
        context.flush(FlushRequest.getDefaultInstance());

        ContextObject o = view.getObject(GetObjectRequest.newBuilder().setId("life-1").build()).getObject();
        assertEquals(ObjectState.OBJECT_STATE_FINISHED, o.getState());
        assertEquals(fields(Map.of("status", 200)), o.getFields());
        assertEquals(Map.of("env", "test"), o.getHeadersMap());
        assertEquals("status is 200", o.getLastMessage());
        assertEquals(5, o.getEventCount());
    }

    @Test
    void shouldStreamAcksAndFlushWhenPublishingOnTheStream() throws Exception {
        List<PublishResponse> acks = new CopyOnWriteArrayList<>();
        StreamObserver<PublishRequest> in = ContextServiceGrpc.newStub(weftd.channel()).publish(collect(acks));
        in.onNext(PublishRequest.newBuilder().setClientId("it-stream").setBatchSeq(1)
                .addEvents(event("s-1", EventKind.EVENT_KIND_BORN, 1))
                .addEvents(event("s-1", EventKind.EVENT_KIND_UPDATE, 2).setFields(fields(Map.of("n", 1))))
                .build());
        in.onNext(PublishRequest.newBuilder().setBatchSeq(2)
                .addEvents(event("s-1", EventKind.EVENT_KIND_UPDATE, 3).setFields(fields(Map.of("n", 2))))
                .setFlushToken(42).build());
        Poll.until(Duration.ofSeconds(10), () -> acks.stream().anyMatch(a -> a.getFlushedToken() == 42), "flush 42");
        in.onCompleted();

        PublishResponse flushed = acks.stream().filter(a -> a.getFlushedToken() == 42).findFirst().orElseThrow();
        assertTrue(flushed.getFlushComplete());
        assertEquals(3, flushed.getAccepted());
        assertEquals(2, flushed.getLastBatchSeq());
        assertEquals(2.0, view.getObject(GetObjectRequest.newBuilder().setId("s-1").build())
                .getObject().getFields().getFieldsOrThrow("n").getNumberValue());
    }

    @Test
    void shouldKeepOrderAndEndCleanlyWhenLargeBatchesAreParsedAside() throws Exception {
        List<PublishResponse> acks = new CopyOnWriteArrayList<>();
        CountDownLatch completed = new CountDownLatch(1);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        StreamObserver<PublishRequest> in = ContextServiceGrpc.newStub(weftd.channel()).publish(new StreamObserver<>() {
            @Override
            public void onNext(PublishResponse r) {
                acks.add(r);
            }

            @Override
            public void onError(Throwable t) {
                errors.add(t);
            }

            @Override
            public void onCompleted() {
                completed.countDown();
            }
        });
        // Small and large batches alternate; the last, large one is still being parsed aside when the
        // stream ends, so its end must wait for it. Out of order, a later seq would have made weftd
        // drop an earlier one as a replay.
        in.onNext(PublishRequest.newBuilder().setClientId("it-aside").setBatchSeq(1)
                .addEvents(event("aside-1", EventKind.EVENT_KIND_BORN, 1)).build());
        in.onNext(largeBatch(2, 2));
        in.onNext(PublishRequest.newBuilder().setBatchSeq(3)
                .addEvents(event("aside-1", EventKind.EVENT_KIND_UPDATE, 3).setFields(fields(Map.of("n", 3)))).build());
        in.onNext(largeBatch(4, 4));
        in.onCompleted();

        assertTrue(completed.await(30, TimeUnit.SECONDS), "the stream completes; errors: " + errors);
        PublishResponse last = acks.get(acks.size() - 1);
        assertEquals(4, last.getLastBatchSeq());
        assertEquals(4 + 2 * LARGE_BATCH_FILLERS, last.getAccepted());
        ContextObject o = view.getObject(GetObjectRequest.newBuilder().setId("aside-1").build()).getObject();
        assertEquals(4.0, o.getFields().getFieldsOrThrow("n").getNumberValue());
        assertEquals(4, o.getEventCount());
    }

    private static final int LARGE_BATCH_FILLERS = 200;

    /** One update of {@code aside-1} (n = seq) and transient fillers: some 100 KiB, over the 8 KiB parsed inline. */
    private static PublishRequest largeBatch(long batchSeq, long seq) {
        PublishRequest.Builder b = PublishRequest.newBuilder().setBatchSeq(batchSeq)
                .addEvents(event("aside-1", EventKind.EVENT_KIND_UPDATE, seq).setFields(fields(Map.of("n", seq))));
        String pad = "x".repeat(500);
        for (int i = 0; i < LARGE_BATCH_FILLERS; i++) {
            b.addEvents(event("aside-fill-" + batchSeq + "-" + i, EventKind.EVENT_KIND_TRANSIENT, 1)
                    .setFields(fields(Map.of("pad", pad))));
        }
        PublishRequest r = b.build();
        assertTrue(r.getSerializedSize() > 8 * 1024, "large enough to be parsed aside: " + r.getSerializedSize());
        return r;
    }

    @Test
    void shouldHoldAFastStreamBackWithoutLossWhenItsClientQuotaIsReached() throws Exception {
        int batches = 200;
        int perBatch = 500;
        try (WeftdProcess small = WeftdProcess.builder().env("WEFT_INBOUND_CLIENT_QUOTA", "64").start()) {
            List<PublishResponse> acks = new CopyOnWriteArrayList<>();
            StreamObserver<PublishRequest> in = ContextServiceGrpc.newStub(small.channel()).publish(collect(acks));
            // Sent without waiting: every batch is far above the quota, so weftd has to stop reading.
            for (int b = 1; b <= batches; b++) {
                PublishRequest.Builder req = PublishRequest.newBuilder().setBatchSeq(b);
                for (int i = 0; i < perBatch; i++) {
                    req.addEvents(event("fc-" + b + "-" + i, EventKind.EVENT_KIND_TRANSIENT, 1)
                            .setFields(fields(Map.of("i", i))));
                }
                in.onNext(req.build());
            }
            in.onNext(PublishRequest.newBuilder().setFlushToken(7).build());
            Poll.until(Duration.ofSeconds(60), () -> acks.stream().anyMatch(a -> a.getFlushedToken() == 7), "flush 7");
            in.onCompleted();

            PublishResponse flushed = acks.stream().filter(a -> a.getFlushedToken() == 7).findFirst().orElseThrow();
            assertTrue(flushed.getFlushComplete());
            assertEquals(batches * perBatch, flushed.getAccepted());
            assertEquals(0, flushed.getDropped());
            var admin = AdminServiceGrpc.newBlockingStub(small.channel());
            // Info's broker counters are a snapshot the broker refreshes every few milliseconds.
            Poll.until(Duration.ofSeconds(10), () -> admin.withDeadlineAfter(5, TimeUnit.SECONDS)
                    .info(InfoRequest.getDefaultInstance()).getCountersOrDefault("events_applied", 0)
                    == batches * perBatch, "every event applied");
            Map<String, Long> c = admin.withDeadlineAfter(5, TimeUnit.SECONDS)
                    .info(InfoRequest.getDefaultInstance()).getCountersMap();
            assertEquals(0, c.get("inbound_refused_client_quota"));
            assertEquals(0, c.get("inbound_refused_full"));
        }
    }

    @Test
    void shouldFlushAStreamsEventsWhenUnaryFlushNamesItsClientId() {
        List<PublishResponse> acks = new CopyOnWriteArrayList<>();
        StreamObserver<PublishRequest> in = ContextServiceGrpc.newStub(weftd.channel()).publish(collect(acks));
        in.onNext(PublishRequest.newBuilder().setClientId("it-flush-client").setBatchSeq(1)
                .addEvents(event("fc-1", EventKind.EVENT_KIND_TRANSIENT, 1)).build());
        Poll.until(Duration.ofSeconds(10), () -> acks.stream().anyMatch(a -> a.getAccepted() == 1), "the ack");

        FlushResponse flushed = context.flush(FlushRequest.newBuilder().setClientId("it-flush-client").build());
        in.onCompleted();

        assertTrue(flushed.getComplete());
        assertEquals(0, flushed.getPending());
        assertEquals(ObjectState.OBJECT_STATE_TRANSIENT,
                view.getObject(GetObjectRequest.newBuilder().setId("fc-1").build()).getObject().getState());
    }

    @Test
    void shouldFilterAndProjectWhenListing() {
        context.publishEvents(PublishEventsRequest.newBuilder()
                .addEvents(event("ls-a", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("shop.orders.eu")
                        .putHeaders("tier", "gold").setFields(fields(Map.of("total", 5, "secret", "x"))))
                .addEvents(event("ls-b", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("shop.orders.us")
                        .putHeaders("tier", "basic").setFields(fields(Map.of("total", 7))))
                .addEvents(event("ls-c", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("shop.carts")
                        .putHeaders("tier", "gold"))
                .build());
        context.flush(FlushRequest.getDefaultInstance());

        ListObjectsResponse orders = view.listObjects(ListObjectsRequest.newBuilder()
                .setFilter(ObjectFilter.newBuilder().addRoutingKeys("shop.orders.*"))
                .setProjection(Projection.newBuilder().addTrim("secret"))
                .build());
        assertEquals(List.of("ls-a", "ls-b"), ids(orders.getObjectsList()));
        assertEquals(fields(Map.of("total", 5)), orders.getObjects(0).getFields());

        ListObjectsResponse gold = view.listObjects(ListObjectsRequest.newBuilder()
                .setFilter(ObjectFilter.newBuilder().addRoutingKeys("shop.#").putHeaders("tier", "gold"))
                .build());
        assertEquals(List.of("ls-a", "ls-c"), ids(gold.getObjectsList()));
    }

    @Test
    void shouldDeliverCollatedObjectsAndMessagesWhenWatching() {
        Iterator<WatchResponse> objects = ViewServiceGrpc.newBlockingStub(weftd.channel())
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .watch(WatchRequest.newBuilder().setMode(WatchMode.WATCH_MODE_OBJECTS)
                        .setFilter(ObjectFilter.newBuilder().addRoutingKeys("watch.#"))
                        .setProjection(Projection.newBuilder().addKeys("b"))
                        .build());
        Iterator<WatchResponse> messages = ViewServiceGrpc.newBlockingStub(weftd.channel())
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .watch(WatchRequest.newBuilder().setMode(WatchMode.WATCH_MODE_MESSAGES)
                        .setFilter(ObjectFilter.newBuilder().addRoutingKeys("watch.#")).build());
        awaitWatchers(2);

        context.publishEvents(PublishEventsRequest.newBuilder()
                .addEvents(event("w-1", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("watch.me")
                        .setFields(fields(Map.of("a", 1, "b", 2))))
                .addEvents(event("other", EventKind.EVENT_KIND_TRANSIENT, 1).setRoutingKey("not.watched"))
                .addEvents(event("w-1", EventKind.EVENT_KIND_FINISHED, 2).setRoutingKey("watch.me"))
                .build());

        WatchResponse o = objects.next();
        assertEquals("w-1", o.getObject().getId());
        assertEquals(fields(Map.of("b", 2)), o.getObject().getFields());
        assertEquals(ObjectState.OBJECT_STATE_FINISHED, o.getObject().getState());
        assertEquals(EventKind.EVENT_KIND_BORN, messages.next().getMessage().getKind());
        assertEquals(EventKind.EVENT_KIND_FINISHED, messages.next().getMessage().getKind());
    }

    @Test
    void shouldAnswerUnknownObjectWhenIdIsNotKnown() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> view.getObject(GetObjectRequest.newBuilder().setId("nope").build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertEquals("UNKNOWN_OBJECT", Api.reason(e));
    }

    @Test
    void shouldReportEveryQueueWhenAskedForQueues() {
        List<String> names = AdminServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
                .queues(QueuesRequest.getDefaultInstance()).getQueuesList().stream().map(QueueInfo::getName).toList();
        assertTrue(names.containsAll(List.of("inbound", "collator.live", "collator.finished", "reply.executor")),
                names.toString());
    }

    private static void awaitWatchers(int n) {
        AdminServiceGrpc.AdminServiceBlockingStub admin = AdminServiceGrpc.newBlockingStub(weftd.channel());
        Poll.until(Duration.ofSeconds(10), () -> admin.withDeadlineAfter(5, TimeUnit.SECONDS)
                .queues(QueuesRequest.getDefaultInstance()).getQueuesList().stream()
                .filter(q -> q.getName().startsWith("watch.")).count() >= n, n + " watchers registered");
    }

    static List<String> ids(List<ContextObject> objects) {
        List<String> out = new ArrayList<>();
        objects.forEach(o -> out.add(o.getId()));
        return out;
    }

    static <T> StreamObserver<T> collect(List<T> into) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
                into.add(value);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
        };
    }
}
