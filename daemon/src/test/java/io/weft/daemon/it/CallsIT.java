package io.weft.daemon.it;

import static io.weft.daemon.it.Api.reason;
import static io.weft.daemon.it.RawServer.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.ErrorInfo;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.MetadataUtils;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.CallAllRequest;
import io.weft.api.v1.CallAllResponse;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallResponse;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.CallState;
import io.weft.api.v1.EndpointPolicy;
import io.weft.api.v1.EndpointSpec;
import io.weft.api.v1.InFlightCall;
import io.weft.api.v1.InFlightRequest;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.Invocation;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Calls on one real weftd (DESIGN §8): raw CallService clients on both ends. */
class CallsIT {

    private static WeftdProcess weftd;

    @BeforeAll
    static void start() throws Exception {
        weftd = WeftdProcess.builder()
                .env("WEFT_CALL_MAX_STACK_BYTES", "1000")
                .env("WEFT_CALL_SERVE_MAX_IN_FLIGHT", "4")
                .env("WEFT_CALL_WARN_AFTER", "200ms")
                .start();
    }

    @AfterAll
    static void stop() throws Exception {
        weftd.close();
    }

    private static CallServiceGrpc.CallServiceBlockingStub caller() {
        return CallServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static ManagedChannel newChannel() {
        return Grpc.newChannelBuilder(weftd.target(), InsecureChannelCredentials.create()).build();
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    private static CallRequest req(String target, String function, Value args) {
        return CallRequest.newBuilder().setTarget(target).setFunction(function).setArgs(args).build();
    }

    private static Map<String, String> meta(StatusRuntimeException e) {
        return StatusProto.fromThrowable(e).getDetailsList().stream().filter(a -> a.is(ErrorInfo.class))
                .map(a -> {
                    try {
                        return a.unpack(ErrorInfo.class).getMetadataMap();
                    } catch (Exception x) {
                        throw new IllegalStateException(x);
                    }
                }).findFirst().orElse(Map.of());
    }

    @Test
    void shouldReturnTheHandlersValueWhenALocalEndpointIsCalled() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "echo-server",
                inv -> RawServer.value(inv, inv.getArgs()), endpoint("echo", "echo")).awaitRegistered()) {
            Value args = Value.newBuilder().setStructValue(Struct.newBuilder()
                    .putFields("n", Value.newBuilder().setNumberValue(42).build())
                    .putFields("l", Value.newBuilder().setListValue(ListValue.newBuilder().addValues(str("x"))).build()))
                    .build();
            CallResponse r = caller().call(req("echo", "echo", args));
            assertEquals(args, r.getValue());
            assertEquals(weftd.daemonId(), r.getDaemonId());
            CallResponse r2 = caller().call(req("echo@" + weftd.daemonId(), "echo", str("at")));
            assertEquals("at", r2.getValue().getStringValue());
            Invocation seen = s.invocations.poll();
            assertEquals("echo", seen.getEndpoint());
            assertTrue(seen.getBudget().getSeconds() >= 8, "the budget travels: " + seen.getBudget());
        }
    }

    @Test
    void shouldCarryTheRemoteTypeMessageAndACappedStackWhenTheHandlerRaises() throws Exception {
        String stack = "at x.Y.z(Y.java:1)\n".repeat(1000);
        try (RawServer s = new RawServer(weftd.channel(), "raiser",
                inv -> RawServer.failure(inv, "java.lang.IllegalStateException", "out of stock", stack),
                endpoint("raiser", "buy")).awaitRegistered()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> caller().call(req("raiser", "buy", str("x"))));
            assertEquals(Status.Code.UNKNOWN, e.getStatus().getCode());
            assertEquals("CALL_FAILED", reason(e));
            Map<String, String> m = meta(e);
            assertEquals("java.lang.IllegalStateException", m.get("type"));
            assertEquals("out of stock", m.get("message"));
            assertTrue(m.get("stack").startsWith("at x.Y.z(Y.java:1)"), m.get("stack"));
            assertTrue(m.get("stack").length() < 1100, "stack capped at call.max-stack-bytes: " + m.get("stack").length());
            assertTrue(m.get("stack").contains("cut by weftd"));
        }
    }

    @Test
    void shouldRefuseUnknownEndpointsFunctionsAndBadInput() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "limited", inv -> RawServer.value(inv, str("ok")),
                endpoint("limited", "allowed")).awaitRegistered()) {
            StatusRuntimeException fn = assertThrows(StatusRuntimeException.class,
                    () -> caller().call(req("limited", "exec", str("rm -rf /"))));
            assertEquals(Status.Code.NOT_FOUND, fn.getStatus().getCode());
            assertEquals("UNKNOWN_FUNCTION", reason(fn));
            assertTrue(s.invocations.isEmpty(), "an unregistered function never reaches the client");

            StatusRuntimeException ep = assertThrows(StatusRuntimeException.class,
                    () -> caller().call(req("nobody", "allowed", str(""))));
            assertEquals(Status.Code.NOT_FOUND, ep.getStatus().getCode());
            assertEquals("NO_ROUTE", reason(ep));

            StatusRuntimeException other = assertThrows(StatusRuntimeException.class,
                    () -> caller().call(req("limited@elsewhere", "allowed", str(""))));
            assertEquals("NO_ROUTE", reason(other));

            StatusRuntimeException target = assertThrows(StatusRuntimeException.class,
                    () -> caller().call(req("bad name", "allowed", str(""))));
            assertEquals(Status.Code.INVALID_ARGUMENT, target.getStatus().getCode());
            assertEquals("INVALID_ARGUMENT", reason(target));

            StatusRuntimeException nan = assertThrows(StatusRuntimeException.class,
                    () -> caller().call(req("limited", "allowed", Value.newBuilder().setNumberValue(Double.NaN).build())));
            assertEquals(Status.Code.INVALID_ARGUMENT, nan.getStatus().getCode());
            assertEquals("NOT_JSON", reason(nan));
        }
    }

    @Test
    void shouldAnswerTargetGoneWithinOneSecondWhenTheServingClientDiesMidCall() throws Exception {
        ManagedChannel own = newChannel();
        RawServer s = new RawServer(own, "doomed", null, endpoint("doomed", "work")).awaitRegistered();
        CompletableFuture<Long> failedAt = new CompletableFuture<>();
        CompletableFuture<StatusRuntimeException> failure = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                CallServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .call(req("doomed", "work", str("")));
                failure.completeExceptionally(new AssertionError("the call succeeded"));
            } catch (StatusRuntimeException e) {
                failedAt.complete(System.nanoTime());
                failure.complete(e);
            }
        });
        t.start();
        s.nextInvocation(Duration.ofSeconds(10));
        long killedAt = System.nanoTime();
        own.shutdownNow();
        StatusRuntimeException e = failure.get(5, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(failedAt.get() - killedAt);
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertEquals("TARGET_GONE", reason(e));
        assertTrue(ms < 1000, "dead reply after " + ms + " ms");
        // The endpoint went with its client.
        StatusRuntimeException after = assertThrows(StatusRuntimeException.class,
                () -> caller().call(req("doomed", "work", str(""))));
        assertEquals("NO_ROUTE", reason(after));
    }

    @Test
    void shouldExpireTheCallAndCancelTheHandlerWhenTheDeadlinePasses() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "sleepy", null, endpoint("sleepy", "nap")).awaitRegistered()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> CallServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(300, TimeUnit.MILLISECONDS)
                            .call(req("sleepy", "nap", str(""))));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
            String id = s.nextInvocation(Duration.ofSeconds(5)).getCallId();
            Poll.until(Duration.ofSeconds(5), () -> s.cancels.containsKey(id), "the handler is told to stop");
        }
    }

    @Test
    void shouldCancelTheHandlerWhenTheCallerCancels() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "patient", null, endpoint("patient", "wait")).awaitRegistered()) {
            Context.CancellableContext ctx = Context.current().withCancellation();
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            ctx.run(() -> CallServiceGrpc.newStub(weftd.channel()).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .call(req("patient", "wait", str("")), new io.grpc.stub.StreamObserver<>() {
                        @Override
                        public void onNext(CallResponse value) {}

                        @Override
                        public void onError(Throwable t) {
                            outcome.complete(t);
                        }

                        @Override
                        public void onCompleted() {
                            outcome.complete(null);
                        }
                    }));
            String id = s.nextInvocation(Duration.ofSeconds(10)).getCallId();
            ctx.cancel(null);
            Poll.until(Duration.ofSeconds(5), () -> s.cancels.containsKey(id), "the cancel reaches the handler");
            assertEquals("CANCELLED", s.cancels.get(id).getReason());
            assertEquals(Status.Code.CANCELLED, Status.fromThrowable(outcome.get(5, TimeUnit.SECONDS)).getCode());
        }
    }

    @Test
    void shouldNeverLetANestedCallOutliveItsParent() throws Exception {
        try (RawServer inner = new RawServer(weftd.channel(), "inner", null, endpoint("inner", "slow")).awaitRegistered();
             RawServer outer = new RawServer(weftd.channel(), "outer", null, endpoint("outer", "relay")).awaitRegistered()) {
            // Outer tighter: the parent has 600 ms, the nested call asks for 20 s.
            CompletableFuture<Throwable> parentOutcome = callAsync("outer", "relay", 600);
            Invocation parent = outer.nextInvocation(Duration.ofSeconds(10));
            StatusRuntimeException nested = assertThrows(StatusRuntimeException.class, () ->
                    CallServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(20, TimeUnit.SECONDS)
                            .call(req("inner", "slow", str("")).toBuilder().setParentCallId(parent.getCallId()).build()));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, nested.getStatus().getCode());
            assertEquals("DEADLINE_EXCEEDED", reason(nested));
            assertEquals("parent", meta(nested).get("scope"));
            assertTrue(inner.nextInvocation(Duration.ofSeconds(5)).getBudget().getSeconds() < 1,
                    "the nested invocation's budget is the parent's remainder");
            assertEquals(Status.Code.DEADLINE_EXCEEDED,
                    Status.fromThrowable(parentOutcome.get(10, TimeUnit.SECONDS)).getCode());

            // Inner tighter: the nested call's own deadline fires, scope "call".
            CompletableFuture<Throwable> parent2Outcome = callAsync("outer", "relay", 20_000);
            Invocation parent2 = outer.nextInvocation(Duration.ofSeconds(10));
            StatusRuntimeException own = assertThrows(StatusRuntimeException.class, () ->
                    CallServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(300, TimeUnit.MILLISECONDS)
                            .call(req("inner", "slow", str("")).toBuilder().setParentCallId(parent2.getCallId()).build()));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, own.getStatus().getCode());
            if (!meta(own).isEmpty()) {
                assertEquals("call", meta(own).get("scope"));
            }
            inner.nextInvocation(Duration.ofSeconds(5));

            // The parent ends while its nested call is pending: the nested call is cancelled with it.
            CompletableFuture<Throwable> nested3 = new CompletableFuture<>();
            CallServiceGrpc.newStub(weftd.channel()).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .call(req("inner", "slow", str("")).toBuilder().setParentCallId(parent2.getCallId()).build(),
                            completion(nested3));
            String nestedId = inner.nextInvocation(Duration.ofSeconds(10)).getCallId();
            outer.send(RawServer.value(parent2, str("done")));
            assertEquals(null, parent2Outcome.get(10, TimeUnit.SECONDS));
            StatusRuntimeException cancelled = (StatusRuntimeException) nested3.get(10, TimeUnit.SECONDS);
            assertEquals(Status.Code.CANCELLED, cancelled.getStatus().getCode());
            assertEquals("parent", meta(cancelled).get("scope"));
            Poll.until(Duration.ofSeconds(5), () -> inner.cancels.containsKey(nestedId), "the nested handler is cancelled");

            // A call naming a parent that is no longer in flight is refused.
            StatusRuntimeException orphan = assertThrows(StatusRuntimeException.class, () -> caller()
                    .call(req("inner", "slow", str("")).toBuilder().setParentCallId(parent2.getCallId()).build()));
            assertEquals("CANCELLED", reason(orphan));
        }
    }

    private static CompletableFuture<Throwable> callAsync(String target, String function, long deadlineMs) {
        CompletableFuture<Throwable> f = new CompletableFuture<>();
        CallServiceGrpc.newStub(weftd.channel()).withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS)
                .call(req(target, function, str("")), completion(f));
        return f;
    }

    private static io.grpc.stub.StreamObserver<CallResponse> completion(CompletableFuture<Throwable> f) {
        return new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(CallResponse value) {}

            @Override
            public void onError(Throwable t) {
                f.complete(t);
            }

            @Override
            public void onCompleted() {
                f.complete(null);
            }
        };
    }

    @Test
    void shouldRefuseCallersThePolicyDoesNotAllow() throws Exception {
        EndpointSpec guarded = endpoint("vault", "open").toBuilder()
                .setPolicy(EndpointPolicy.newBuilder().addAllowedClients("alice")).build();
        try (RawServer s = new RawServer(weftd.channel(), "vault", inv -> RawServer.value(inv, str("gold")), guarded)
                .awaitRegistered()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> as("bob").call(req("vault", "open", str(""))));
            assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
            assertEquals("POLICY_DENIED", reason(e));
            assertTrue(e.getStatus().getDescription().contains("'bob' is not in allowed_clients"), e.getMessage());
            assertEquals("gold", as("alice").call(req("vault", "open", str(""))).getValue().getStringValue());
        }
        EndpointSpec hostOnly = endpoint("hostonly", "f").toBuilder()
                .setPolicy(EndpointPolicy.newBuilder().addAllowedHosts("some-other-host")).build();
        try (RawServer s = new RawServer(weftd.channel(), "hostonly", inv -> RawServer.value(inv, str("x")), hostOnly)
                .awaitRegistered()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> caller().call(req("hostonly", "f", str(""))));
            assertEquals("POLICY_DENIED", reason(e));
        }
    }

    private static CallServiceGrpc.CallServiceBlockingStub as(String clientId) {
        Metadata h = new Metadata();
        h.put(Metadata.Key.of("weft-client-id", Metadata.ASCII_STRING_MARSHALLER), clientId);
        return caller().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h));
    }

    @Test
    void shouldListACallInProgressInInFlight() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "busy", null, endpoint("busy", "crunch")).awaitRegistered()) {
            CompletableFuture<Throwable> outcome = callAsync("busy", "crunch", 20_000);
            Invocation inv = s.nextInvocation(Duration.ofSeconds(10));
            List<InFlightCall> calls = AdminServiceGrpc.newBlockingStub(weftd.channel())
                    .inFlight(InFlightRequest.getDefaultInstance()).getCallsList();
            InFlightCall c = calls.stream().filter(x -> x.getCallId().equals(inv.getCallId())).findFirst().orElseThrow();
            assertEquals("busy", c.getTarget());
            assertEquals("crunch", c.getFunction());
            assertEquals("busy", c.getServerClient());
            assertEquals(CallState.CALL_STATE_RUNNING, c.getState());
            assertEquals(List.of(weftd.daemonId()), c.getPathList());
            assertTrue(c.getDeadlineLeft().getSeconds() > 5 && c.getDeadlineLeft().getSeconds() <= 20, c.toString());
            s.send(RawServer.value(inv, str("ok")));
            assertEquals(null, outcome.get(10, TimeUnit.SECONDS));
            assertFalse(AdminServiceGrpc.newBlockingStub(weftd.channel()).inFlight(InFlightRequest.getDefaultInstance())
                    .getCallsList().stream().anyMatch(x -> x.getCallId().equals(inv.getCallId())));
        }
    }

    @Test
    void shouldWarnOnceAboutACallSlowerThanTheThreshold() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "laggard", null, endpoint("laggard", "drag")).awaitRegistered()) {
            long before = counter("calls_slow");
            CompletableFuture<Throwable> outcome = callAsync("laggard", "drag", 20_000);
            Invocation inv = s.nextInvocation(Duration.ofSeconds(10));
            Poll.until(Duration.ofSeconds(10), () -> counter("calls_slow") == before + 1, "the slow call counted");
            Poll.until(Duration.ofSeconds(5), () -> weftd.output().contains("call_id=" + inv.getCallId()),
                    "the slow call logged");
            s.send(RawServer.value(inv, str("finally")));
            assertEquals(null, outcome.get(10, TimeUnit.SECONDS));
            assertEquals(1, weftd.output().split("msg=\"slow call\" call_id=" + inv.getCallId(), -1).length - 1,
                    "logged once");
        }
    }

    private static long counter(String name) {
        return AdminServiceGrpc.newBlockingStub(weftd.channel()).info(InfoRequest.getDefaultInstance())
                .getCountersOrDefault(name, 0);
    }

    @Test
    void shouldStreamEveryOutcomeWhenCallingAll() throws Exception {
        try (RawServer a = new RawServer(weftd.channel(), "fan-a", inv -> RawServer.value(inv, str("a")),
                endpoint("fan-a", "ping")).awaitRegistered();
             RawServer b = new RawServer(weftd.channel(), "fan-b", inv -> RawServer.failure(inv, "E", "b broke", ""),
                     endpoint("fan-b", "ping")).awaitRegistered()) {
            Iterator<CallAllResponse> it = caller().callAll(CallAllRequest.newBuilder()
                    .addTargets("fan-a").addTargets("fan-b").addTargets("fan-missing").setFunction("ping").build());
            List<CallAllResponse> all = new ArrayList<>();
            it.forEachRemaining(all::add);
            assertEquals(3, all.size());
            CallAllResponse ra = all.stream().filter(r -> r.getIndex() == 0).findFirst().orElseThrow();
            CallAllResponse rb = all.stream().filter(r -> r.getIndex() == 1).findFirst().orElseThrow();
            CallAllResponse rc = all.stream().filter(r -> r.getIndex() == 2).findFirst().orElseThrow();
            assertEquals("a", ra.getValue().getStringValue());
            assertEquals("CALL_FAILED", rb.getError().getReason());
            assertEquals("b broke", rb.getError().getMetadataOrThrow("message"));
            assertEquals("NO_ROUTE", rc.getError().getReason());
            assertEquals("NOT_FOUND", rc.getError().getCode());
        }
    }

    @Test
    void shouldRefuseATakenEndpointUntilItsClientLeaves() throws Exception {
        RawServer first = new RawServer(weftd.channel(), "first", inv -> RawServer.value(inv, str("1")),
                endpoint("solo", "f")).awaitRegistered();
        RawServer second = new RawServer(weftd.channel(), "second", inv -> RawServer.value(inv, str("2")),
                endpoint("solo", "f"));
        Status refused = second.ended.get(10, TimeUnit.SECONDS);
        assertEquals(Status.Code.ALREADY_EXISTS, refused.getCode());
        first.close();
        first.ended.get(10, TimeUnit.SECONDS);
        try (RawServer third = new RawServer(weftd.channel(), "third", inv -> RawServer.value(inv, str("3")),
                endpoint("solo", "f")).awaitRegistered()) {
            assertEquals("3", caller().call(req("solo", "f", str(""))).getValue().getStringValue());
        }
    }

    @Test
    void shouldRefuseCallsBeyondTheServingClientsInFlightBound() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "narrow", null, endpoint("narrow", "f")).awaitRegistered()) {
            List<CompletableFuture<Throwable>> held = new ArrayList<>();
            List<Invocation> running = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                held.add(callAsync("narrow", "f", 20_000));
                running.add(s.nextInvocation(Duration.ofSeconds(10)));
            }
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> caller().call(req("narrow", "f", str(""))));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
            assertEquals("QUEUE_FULL", reason(e));
            Poll.until(Duration.ofSeconds(5), () -> counter("calls_refused_full") >= 1, "the refusal counted");
            for (Invocation inv : running) {
                s.send(RawServer.value(inv, str("")));
            }
            for (CompletableFuture<Throwable> f : held) {
                f.get(10, TimeUnit.SECONDS);
            }
        }
    }
}
