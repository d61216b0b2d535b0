package io.weft.daemon.it;

import static io.weft.daemon.it.RawServer.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import com.google.protobuf.Value;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.CallOutcome;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.CallStreamRequest;
import io.weft.api.v1.CallStreamResponse;
import io.weft.api.v1.InFlightRequest;
import io.weft.api.v1.Invocation;
import io.weft.api.v1.StreamedCall;
import io.weft.api.v1.StreamedCancel;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** CallService.CallStream on one real weftd: many calls on one stream, raw clients on both ends. */
class CallStreamIT {

    private static final java.time.Duration WAIT = java.time.Duration.ofSeconds(10);
    private static final int STREAM_BOUND = 8;
    private static WeftdProcess weftd;

    @BeforeAll
    static void start() throws Exception {
        weftd = WeftdProcess.builder().env("WEFT_CALL_STREAM_MAX_IN_FLIGHT", Integer.toString(STREAM_BOUND)).start();
    }

    @AfterAll
    static void stop() throws Exception {
        weftd.close();
    }

    /** One raw CallStream: what it sends, and the outcomes by ref. */
    private static final class Stream implements ClientResponseObserver<CallStreamRequest, CallStreamResponse> {
        final Map<Long, CallOutcome> outcomes = new ConcurrentHashMap<>();
        final CompletableFuture<Status> ended = new CompletableFuture<>();
        ClientCallStreamObserver<CallStreamRequest> call;

        Stream() {
            CallServiceGrpc.newStub(weftd.channel()).callStream(this);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<CallStreamRequest> requestStream) {
            call = requestStream;
        }

        @Override
        public void onNext(CallStreamResponse r) {
            r.getOutcomesList().forEach(o -> outcomes.put(o.getRef(), o));
        }

        @Override
        public void onError(Throwable t) {
            ended.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            ended.complete(Status.OK);
        }

        synchronized void send(StreamedCall... calls) {
            call.onNext(CallStreamRequest.newBuilder().addAllCalls(List.of(calls)).build());
        }

        synchronized void cancel(long ref, boolean deadlinePassed) {
            call.onNext(CallStreamRequest.newBuilder()
                    .addCancels(StreamedCancel.newBuilder().setRef(ref).setDeadlinePassed(deadlinePassed)).build());
        }

        CallOutcome await(long ref) {
            Poll.until(WAIT, () -> outcomes.containsKey(ref), "the outcome of ref " + ref);
            return outcomes.get(ref);
        }
    }

    private static StreamedCall call(long ref, String target, String function, String arg) {
        return StreamedCall.newBuilder().setRef(ref)
                .setRequest(CallRequest.newBuilder().setTarget(target).setFunction(function)
                        .setArgs(Value.newBuilder().setStringValue(arg)))
                .setTimeout(Duration.newBuilder().setSeconds(30)).build();
    }

    @Test
    void shouldAnswerEveryCallByItsRefWhenManyAreInFlightOnOneStream() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "stream-echo", inv -> RawServer.value(inv, inv.getArgs()),
                endpoint("stream-echo", "echo")).awaitRegistered()) {
            Stream st = new Stream();
            int n = 500;
            for (int i = 0; i < n; i += 5) {
                List<StreamedCall> batch = new ArrayList<>();
                for (int j = i; j < i + 5; j++) {
                    batch.add(call(j, "stream-echo", "echo", "v" + j));
                }
                st.send(batch.toArray(StreamedCall[]::new));
            }
            Poll.until(WAIT, () -> st.outcomes.size() == n, "every call answered");
            for (long i = 0; i < n; i++) {
                CallOutcome o = st.outcomes.get(i);
                assertEquals("v" + i, o.getValue().getStringValue(), "ref " + i);
                assertEquals(weftd.daemonId(), o.getDaemonId());
                assertTrue(o.getCallId().startsWith(weftd.daemonId() + ":"), o.getCallId());
            }
            st.call.onCompleted();
            assertEquals(Status.Code.OK, st.ended.get(10, TimeUnit.SECONDS).getCode());
        }
    }

    @Test
    void shouldAnswerABadCallAsItsOwnOutcomeAndKeepTheStreamWhenTheInputIsBad() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "stream-strict", inv -> RawServer.value(inv, inv.getArgs()),
                endpoint("stream-strict", "ok")).awaitRegistered()) {
            Stream st = new Stream();
            st.send(call(1, "bad target!", "ok", ""));
            st.send(call(2, "stream-strict", "nope", ""));
            st.send(call(3, "nobody-serves-this", "ok", ""));
            st.send(call(4, "stream-strict", "ok", "").toBuilder()
                    .setTimeout(Duration.newBuilder().setNanos(0)).build());
            assertEquals("INVALID_ARGUMENT", st.await(1).getError().getCode());
            assertEquals("INVALID_ARGUMENT", st.await(1).getError().getReason());
            assertEquals("UNKNOWN_FUNCTION", st.await(2).getError().getReason());
            assertEquals("NO_ROUTE", st.await(3).getError().getReason());
            assertEquals("DEADLINE_EXCEEDED", st.await(4).getError().getReason());
            st.send(call(5, "stream-strict", "ok", "still here"));
            assertEquals("still here", st.await(5).getValue().getStringValue());
            assertTrue(!st.ended.isDone(), "a bad call does not end the stream");
            st.call.onCompleted();
            st.ended.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void shouldRefuseARefThatIsInFlightAlready() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "stream-dup", null, endpoint("stream-dup", "wait"))
                .awaitRegistered()) {
            Stream st = new Stream();
            st.send(call(7, "stream-dup", "wait", "first"));
            Invocation first = s.nextInvocation(WAIT);
            st.send(call(7, "stream-dup", "wait", "second"));
            CallOutcome refused = st.await(7);
            assertEquals("INVALID_ARGUMENT", refused.getError().getReason());
            assertTrue(refused.getError().getMessage().contains("in flight"), refused.getError().getMessage());
            st.outcomes.clear();
            s.send(RawServer.value(first, Value.newBuilder().setStringValue("first done").build()));
            assertEquals("first done", st.await(7).getValue().getStringValue());
            st.call.onCompleted();
        }
    }

    @Test
    void shouldCancelTheHandlerWhenTheCallerCancelsARef() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "stream-patient", null, endpoint("stream-patient", "wait"))
                .awaitRegistered()) {
            Stream st = new Stream();
            st.send(call(1, "stream-patient", "wait", ""), call(2, "stream-patient", "wait", ""));
            String id1 = s.nextInvocation(WAIT).getCallId();
            String id2 = s.nextInvocation(WAIT).getCallId();
            st.cancel(1, false);
            st.cancel(2, true);
            Poll.until(WAIT, () -> s.cancels.containsKey(id1) && s.cancels.containsKey(id2), "both cancels reach the handler");
            assertEquals("CANCELLED", s.cancels.get(id1).getReason());
            assertEquals("DEADLINE_EXCEEDED", s.cancels.get(id2).getReason());
            assertEquals("CANCELLED", st.await(1).getError().getReason());
            assertEquals("call", st.await(1).getError().getMetadataOrThrow("scope"));
            assertEquals("DEADLINE_EXCEEDED", st.await(2).getError().getReason());
            st.call.onCompleted();
        }
    }

    @Test
    void shouldCancelEveryCallInFlightWhenTheCallerGoesAway() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "stream-abandoned", null,
                endpoint("stream-abandoned", "wait")).awaitRegistered()) {
            Stream st = new Stream();
            st.send(call(1, "stream-abandoned", "wait", ""), call(2, "stream-abandoned", "wait", ""));
            String id1 = s.nextInvocation(WAIT).getCallId();
            String id2 = s.nextInvocation(WAIT).getCallId();
            st.call.cancel("the caller went away", null);
            Poll.until(WAIT, () -> s.cancels.containsKey(id1) && s.cancels.containsKey(id2), "both handlers cancelled");
        }
    }

    @Test
    void shouldFinishTheCallsInFlightBeforeEndingAHalfClosedStream() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "stream-late", null, endpoint("stream-late", "wait"))
                .awaitRegistered()) {
            Stream st = new Stream();
            st.send(call(1, "stream-late", "wait", ""));
            Invocation inv = s.nextInvocation(WAIT);
            st.call.onCompleted();
            s.send(RawServer.value(inv, Value.newBuilder().setStringValue("late").build()));
            assertEquals(Status.Code.OK, st.ended.get(10, TimeUnit.SECONDS).getCode());
            assertEquals("late", st.outcomes.get(1L).getValue().getStringValue());
        }
    }

    @Test
    void shouldStopReadingTheStreamWhileItHasItsBoundInFlight() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "stream-bounded", null, endpoint("stream-bounded", "wait"))
                .awaitRegistered()) {
            Stream st = new Stream();
            int n = 3 * STREAM_BOUND;
            for (int i = 0; i < n; i++) {
                st.send(call(i, "stream-bounded", "wait", ""));
            }
            Poll.until(WAIT, () -> s.invocations.size() >= STREAM_BOUND, "the bound's worth of calls arrives");
            long inFlight = AdminServiceGrpc.newBlockingStub(weftd.channel()).inFlight(InFlightRequest.getDefaultInstance())
                    .getCallsList().stream().filter(c -> c.getTarget().equals("stream-bounded")).count();
            assertEquals(STREAM_BOUND, inFlight, "weftd read no call past the stream's bound");
            int answered = 0;
            while (answered < n) {
                Invocation inv = s.nextInvocation(WAIT);
                s.send(RawServer.value(inv, Value.newBuilder().setStringValue("ok").build()));
                answered++;
            }
            Poll.until(WAIT, () -> st.outcomes.size() == n, "every call answered once reading resumed");
            st.outcomes.values().forEach(o -> assertEquals("ok", o.getValue().getStringValue()));
            st.call.onCompleted();
        }
    }

    @Test
    void shouldAnswerGrpcurlsCallsAndEndTheStreamAfterItsHalfClose() throws Exception {
        try (RawServer s = new RawServer(weftd.channel(), "stream-grpcurl", inv -> RawServer.value(inv, inv.getArgs()),
                endpoint("stream-grpcurl", "echo")).awaitRegistered()) {
            String request = "{\"calls\": ["
                    + "{\"ref\": 1, \"request\": {\"target\": \"stream-grpcurl\", \"function\": \"echo\","
                    + " \"args\": \"apple\"}, \"timeout\": \"5s\"},"
                    + "{\"ref\": 2, \"request\": {\"target\": \"stream-grpcurl\", \"function\": \"nope\"}}]}";
            ProcessBuilder pb = new ProcessBuilder("grpcurl", "-plaintext", "-d", request, weftd.target(),
                    "weft.v1.CallService/CallStream").redirectErrorStream(true);
            pb.environment().put("PATH", GrpcurlQuickStartIT.grpcurlDir() + ":" + System.getenv("PATH"));
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("\"stringValue\": \"apple\"") || out.contains("\"value\": \"apple\""), out);
            assertTrue(out.contains("\"reason\": \"UNKNOWN_FUNCTION\""), out);
        }
    }

    @Test
    void shouldEndTheStreamWhenARequestCarriesTooManyCalls() throws Exception {
        Stream st = new Stream();
        List<StreamedCall> calls = new ArrayList<>();
        for (int i = 0; i < 1025; i++) {
            calls.add(call(i, "anyone", "f", ""));
        }
        st.send(calls.toArray(StreamedCall[]::new));
        Status ended = st.ended.get(10, TimeUnit.SECONDS);
        assertEquals(Status.Code.INVALID_ARGUMENT, ended.getCode());
        assertTrue(ended.getDescription().contains("at most 1024"), ended.getDescription());
    }
}
