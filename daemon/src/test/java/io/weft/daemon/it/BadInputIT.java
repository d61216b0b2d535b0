package io.weft.daemon.it;

import static io.weft.daemon.it.Api.event;
import static io.weft.daemon.it.Api.fields;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.CallOptions;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.FlushRequest;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.ListObjectsRequest;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import io.weft.api.v1.Source;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchRequest;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Every invalid input gets its status and reason, and never costs a well-behaved client anything. */
class BadInputIT {

    private record Case(String name, Status.Code code, String reason, Consumer<Stubs> call) {}

    private record Stubs(ContextServiceGrpc.ContextServiceBlockingStub context,
                         ViewServiceGrpc.ViewServiceBlockingStub view) {}

    private static final int OBJECTS = 400;
    private static final int UPDATES = 8;

    @Test
    void shouldRejectEachBadInputWithItsReasonWhileGoodClientLosesNothing() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            List<PublishResponse> acks = new CopyOnWriteArrayList<>();
            StreamObserver<PublishRequest> good = ContextServiceGrpc.newStub(weftd.channel())
                    .publish(ContextApiIT.collect(acks));
            Thread goodClient = new Thread(() -> publishGood(good), "good-client");
            goodClient.start();

            Stubs stubs = new Stubs(
                    ContextServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(30, TimeUnit.SECONDS),
                    ViewServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(30, TimeUnit.SECONDS));
            List<String> failures = new ArrayList<>();
            for (Case c : cases()) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> c.call().accept(stubs),
                        c.name());
                if (e.getStatus().getCode() != c.code() || !Api.reason(e).equals(c.reason())) {
                    failures.add(c.name() + ": got " + e.getStatus().getCode() + "/" + Api.reason(e)
                            + " (" + e.getStatus().getDescription() + ")");
                }
            }
            assertEquals(List.of(), failures);
            StatusRuntimeException atomic = assertThrows(StatusRuntimeException.class, () -> stubs.view()
                    .getObject(GetObjectRequest.newBuilder().setId("fine").build()));
            assertEquals("UNKNOWN_OBJECT", Api.reason(atomic), "a rejected batch applies none of its events");

            goodClient.join(60_000);
            Poll.until(Duration.ofSeconds(30), () -> acks.stream().anyMatch(a -> a.getFlushedToken() == 1),
                    "the good client's flush");
            good.onCompleted();
            PublishResponse last = acks.stream().filter(a -> a.getFlushedToken() == 1).findFirst().orElseThrow();
            assertEquals(OBJECTS * (UPDATES + 2), last.getAccepted());
            assertEquals(0, last.getDropped());
            assertEquals(0, last.getRejected());
            for (int i = 0; i < OBJECTS; i++) {
                var o = stubs.view().getObject(GetObjectRequest.newBuilder().setId("good-" + i).build()).getObject();
                assertEquals(ObjectState.OBJECT_STATE_FINISHED, o.getState());
                assertEquals(UPDATES, (int) o.getFields().getFieldsOrThrow("n").getNumberValue(), o.getId());
            }
        }
    }

    @Test
    void shouldEndStreamWithInvalidArgumentWhenClientIdIsInvalid() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            StreamObserver<PublishRequest> in = ContextServiceGrpc.newStub(weftd.channel()).publish(errorsInto(errors));
            in.onNext(PublishRequest.newBuilder().setClientId("bad\nid").setBatchSeq(1)
                    .addEvents(event("x", EventKind.EVENT_KIND_TRANSIENT, 1)).build());
            Poll.until(Duration.ofSeconds(10), () -> !errors.isEmpty(), "the stream's error");

            StatusRuntimeException e = (StatusRuntimeException) errors.get(0);
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertEquals("INVALID_ARGUMENT", Api.reason(e));
            assertTrue(e.getStatus().getDescription().startsWith("client_id:"), e.getStatus().getDescription());
        }
    }

    @Test
    void shouldEndStreamWithInvalidArgumentWhenPublishMessageIsNotProtobuf() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            // Parsed on the transport thread (small) and aside (over 8 KiB): the same answer.
            byte[] truncatedVarint = {0x08, (byte) 0xff};
            byte[] largeGarbage = new byte[100 * 1024];
            Arrays.fill(largeGarbage, (byte) 0xff);
            for (byte[] bytes : List.of(truncatedVarint, largeGarbage)) {
                List<Throwable> errors = new CopyOnWriteArrayList<>();
                StreamObserver<byte[]> in = ClientCalls.asyncBidiStreamingCall(
                        weftd.channel().newCall(RAW_PUBLISH, CallOptions.DEFAULT), errorsInto(errors));
                in.onNext(bytes);
                Poll.until(Duration.ofSeconds(10), () -> !errors.isEmpty(), "the stream's error");

                StatusRuntimeException e = (StatusRuntimeException) errors.get(0);
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
                assertEquals("INVALID_ARGUMENT", Api.reason(e));
                assertTrue(e.getStatus().getDescription().startsWith("a Publish message is not a valid PublishRequest"),
                        e.getStatus().getDescription());
            }
            ContextServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .publishEvents(PublishEventsRequest.newBuilder()
                            .addEvents(event("after-garbage", EventKind.EVENT_KIND_TRANSIENT, 1)).build());
        }
    }

    /** An observer of a Publish stream's responses that keeps only the stream's error. */
    private static StreamObserver<PublishResponse> errorsInto(List<Throwable> errors) {
        return new StreamObserver<>() {
            @Override
            public void onNext(PublishResponse r) {}

            @Override
            public void onError(Throwable t) {
                errors.add(t);
            }

            @Override
            public void onCompleted() {}
        };
    }

    /** Publish with the request as raw bytes, to send what a well-behaved client never would. */
    private static final MethodDescriptor<byte[], PublishResponse> RAW_PUBLISH = ContextServiceGrpc.getPublishMethod()
            .toBuilder(new MethodDescriptor.Marshaller<byte[]>() {
                @Override
                public InputStream stream(byte[] value) {
                    return new ByteArrayInputStream(value);
                }

                @Override
                public byte[] parse(InputStream stream) {
                    throw new UnsupportedOperationException("requests are only sent");
                }
            }, ContextServiceGrpc.getPublishMethod().getResponseMarshaller())
            .build();

    @Test
    void shouldRejectOnlyTheBadEventWhenStreamBatchIsMixed() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            List<PublishResponse> acks = new CopyOnWriteArrayList<>();
            StreamObserver<PublishRequest> in = ContextServiceGrpc.newStub(weftd.channel())
                    .publish(ContextApiIT.collect(acks));
            in.onNext(PublishRequest.newBuilder().setBatchSeq(1)
                    .addEvents(event("ok-1", EventKind.EVENT_KIND_TRANSIENT, 1))
                    .addEvents(event("bad", EventKind.EVENT_KIND_TRANSIENT, 1).setRoutingKey("no spaces"))
                    .addEvents(event("ok-2", EventKind.EVENT_KIND_TRANSIENT, 1))
                    .setFlushToken(9).build());
            Poll.until(Duration.ofSeconds(10), () -> acks.stream().anyMatch(a -> a.getFlushedToken() == 9), "flush");
            in.onCompleted();

            long rejected = acks.stream().mapToLong(PublishResponse::getRejected).max().orElseThrow();
            var rejection = acks.stream().flatMap(a -> a.getRejectionsList().stream()).findFirst().orElseThrow();
            assertEquals(1, rejected);
            assertEquals(1, rejection.getIndex());
            assertEquals("ERROR_REASON_INVALID_ROUTING_KEY", rejection.getReason().name());
            var view = ViewServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(10, TimeUnit.SECONDS);
            assertEquals("ok-2", view.getObject(GetObjectRequest.newBuilder().setId("ok-2").build()).getObject().getId());
        }
    }

    @Test
    void shouldAccountForEveryEventWhenInboundQueueOverflows() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder()
                .env("WEFT_INBOUND_CAPACITY", "4")
                .env("WEFT_INBOUND_CLIENT_QUOTA", "4")
                .start()) {
            var async = ContextServiceGrpc.newStub(weftd.channel());
            int calls = 2000;
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            List<Integer> accepted = new CopyOnWriteArrayList<>();
            java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(calls);
            for (int i = 0; i < calls; i++) {
                async.publishEvents(PublishEventsRequest.newBuilder()
                        .addEvents(event("q-" + i, EventKind.EVENT_KIND_TRANSIENT, 1)).build(),
                        new StreamObserver<>() {
                            @Override
                            public void onNext(io.weft.api.v1.PublishEventsResponse r) {
                                accepted.add(r.getAccepted());
                            }

                            @Override
                            public void onError(Throwable t) {
                                errors.add(t);
                                done.countDown();
                            }

                            @Override
                            public void onCompleted() {
                                done.countDown();
                            }
                        });
            }
            assertTrue(done.await(60, TimeUnit.SECONDS));
            for (Throwable t : errors) {
                StatusRuntimeException e = (StatusRuntimeException) t;
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
                assertEquals("QUEUE_FULL", Api.reason(e));
            }
            assertEquals(calls, accepted.size() + errors.size());
            ContextServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .flush(FlushRequest.getDefaultInstance());
            var admin = AdminServiceGrpc.newBlockingStub(weftd.channel());
            Poll.until(Duration.ofSeconds(5), () -> admin.withDeadlineAfter(5, TimeUnit.SECONDS)
                    .info(InfoRequest.getDefaultInstance()).getCountersOrDefault("events_applied", 0)
                    == accepted.size(), "events_applied == accepted");
            var c = admin.withDeadlineAfter(5, TimeUnit.SECONDS).info(InfoRequest.getDefaultInstance()).getCountersMap();
            assertEquals(errors.size(), c.get("inbound_refused_full") + c.get("inbound_refused_client_quota"));
        }
    }

    private static void publishGood(StreamObserver<PublishRequest> good) {
        long batch = 0;
        for (int i = 0; i < OBJECTS; i++) {
            PublishRequest.Builder b = PublishRequest.newBuilder().setBatchSeq(++batch);
            if (i == 0) {
                b.setClientId("good-client");
            }
            String id = "good-" + i;
            b.addEvents(event(id, EventKind.EVENT_KIND_BORN, 1));
            for (int u = 1; u <= UPDATES; u++) {
                b.addEvents(event(id, EventKind.EVENT_KIND_UPDATE, u + 1).setFields(fields(Map.of("n", u))));
            }
            b.addEvents(event(id, EventKind.EVENT_KIND_FINISHED, UPDATES + 2));
            good.onNext(b.build());
        }
        good.onNext(PublishRequest.newBuilder().setBatchSeq(++batch).setFlushToken(1).build());
    }

    private static List<Case> cases() {
        Status.Code invalid = Status.Code.INVALID_ARGUMENT;
        return List.of(
                publishCase("bad routing key", invalid, "INVALID_ROUTING_KEY",
                        event("x", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("has space").build()),
                publishCase("empty routing key", invalid, "INVALID_ROUTING_KEY",
                        event("x", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("").build()),
                publishCase("empty word in routing key", invalid, "INVALID_ROUTING_KEY",
                        event("x", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("a..b").build()),
                publishCase("routing key over 255 bytes", invalid, "INVALID_ROUTING_KEY",
                        event("x", EventKind.EVENT_KIND_BORN, 1).setRoutingKey("a".repeat(256)).build()),
                publishCase("oversized event", invalid, "EVENT_TOO_LARGE",
                        event("x", EventKind.EVENT_KIND_BORN, 1)
                                .setFields(fields(Map.of("blob", "x".repeat(1 << 20)))).build()),
                publishCase("nested too deep", invalid, "TOO_DEEP",
                        event("x", EventKind.EVENT_KIND_BORN, 1).setFields(nested(70)).build()),
                publishCase("NaN", invalid, "NOT_JSON",
                        event("x", EventKind.EVENT_KIND_BORN, 1).setFields(Struct.newBuilder()
                                .putFields("n", Value.newBuilder().setNumberValue(Double.NaN).build())).build()),
                publishCase("Infinity inside a list", invalid, "NOT_JSON",
                        event("x", EventKind.EVENT_KIND_BORN, 1).setFields(Struct.newBuilder()
                                .putFields("l", Value.newBuilder().setListValue(ListValue.newBuilder()
                                        .addValues(Value.newBuilder().setNumberValue(Double.POSITIVE_INFINITY)))
                                        .build())).build()),
                publishCase("value with no kind", invalid, "NOT_JSON",
                        event("x", EventKind.EVENT_KIND_BORN, 1).setFields(Struct.newBuilder()
                                .putFields("v", Value.getDefaultInstance())).build()),
                publishCase("too many headers", invalid, "TOO_MANY_HEADERS", manyHeaders(65)),
                publishCase("too many fields", invalid, "TOO_MANY_FIELDS", manyFields(1025)),
                publishCase("empty id", invalid, "INVALID_ID", event("", EventKind.EVENT_KIND_BORN, 1).build()),
                publishCase("id over 128 bytes", invalid, "INVALID_ID",
                        event("i".repeat(129), EventKind.EVENT_KIND_BORN, 1).build()),
                publishCase("missing kind", invalid, "INVALID_KIND",
                        event("x", EventKind.EVENT_KIND_UNSPECIFIED, 1).build()),
                publishCase("control character in header", invalid, "INVALID_HEADER",
                        event("x", EventKind.EVENT_KIND_BORN, 1).putHeaders("h", "a\nb").build()),
                new Case("unknown object", Status.Code.NOT_FOUND, "UNKNOWN_OBJECT",
                        s -> s.view().getObject(GetObjectRequest.newBuilder().setId("never-seen").build())),
                new Case("bad filter pattern", invalid, "INVALID_PATTERN",
                        s -> s.view().listObjects(ListObjectsRequest.newBuilder()
                                .setFilter(ObjectFilter.newBuilder().addRoutingKeys("a.b c")).build())),
                new Case("bad page token", invalid, "INVALID_ARGUMENT",
                        s -> s.view().listObjects(ListObjectsRequest.newBuilder().setPageToken("garbage!").build())),
                new Case("page too large", invalid, "INVALID_ARGUMENT",
                        s -> s.view().listObjects(ListObjectsRequest.newBuilder().setPageSize(100_000).build())),
                new Case("bus view without a bus", Status.Code.FAILED_PRECONDITION, "BUS_UNAVAILABLE",
                        s -> s.view().listObjects(ListObjectsRequest.newBuilder().setSource(Source.SOURCE_BUS).build())),
                new Case("watch buffer too large", invalid, "INVALID_ARGUMENT",
                        s -> s.view().watch(WatchRequest.newBuilder().setBufferSize(1 << 20).build()).hasNext()));
    }

    private static Case publishCase(String name, Status.Code code, String reason, ContextEvent bad) {
        return new Case(name, code, reason, s -> s.context().publishEvents(PublishEventsRequest.newBuilder()
                .addEvents(event("fine", EventKind.EVENT_KIND_TRANSIENT, 1))
                .addEvents(bad).build()));
    }

    private static Struct nested(int depth) {
        Struct s = Struct.newBuilder().putFields("leaf", Value.newBuilder().setBoolValue(true).build()).build();
        for (int i = 1; i < depth; i++) {
            s = Struct.newBuilder().putFields("d", Value.newBuilder().setStructValue(s).build()).build();
        }
        return s;
    }

    private static ContextEvent manyHeaders(int n) {
        ContextEvent.Builder b = event("x", EventKind.EVENT_KIND_BORN, 1);
        for (int i = 0; i < n; i++) {
            b.putHeaders("h" + i, "v");
        }
        return b.build();
    }

    private static ContextEvent manyFields(int n) {
        Struct.Builder s = Struct.newBuilder();
        for (int i = 0; i < n; i++) {
            s.putFields("f" + i, Value.newBuilder().setNumberValue(i).build());
        }
        return event("x", EventKind.EVENT_KIND_BORN, 1).setFields(s).build();
    }
}
