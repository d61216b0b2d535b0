package io.weft.daemon.grpc;

import com.google.protobuf.Value;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.CallError;
import io.weft.api.v1.CallOutcome;
import io.weft.api.v1.CallStreamRequest;
import io.weft.api.v1.CallStreamResponse;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.StreamedCall;
import io.weft.api.v1.StreamedCancel;
import io.weft.daemon.core.CallOp;
import io.weft.daemon.core.CallReply;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One {@code CallService.CallStream}: every call in it becomes a broker {@link CallOp.Invoke}, as a
 * unary Call does, but without a gRPC call of its own; outcomes queue here and go out several to a
 * response through a {@link StreamOutbox}.
 *
 * <p>Bounds: a request carries at most {@link #MAX_CALLS_PER_REQUEST} calls. The stream's calls
 * in flight plus outcomes not yet written are its occupancy; once it reaches {@code maxInFlight}
 * the next request is not read (HTTP/2 holds the client back) until half has been written. Reading
 * is also paced by the client's inbound quota, as Publish is ({@link PacedReading}).
 *
 * <p>Ends: the client's half-close lets the calls in flight finish and ends the stream after their
 * outcomes; a cancel or an error cancels them (the broker cancels their handlers).
 */
final class CallStream implements StreamObserver<CallStreamRequest> {

    /** Calls one request may carry. */
    static final int MAX_CALLS_PER_REQUEST = 1024;

    /** Outcomes one response carries at most. */
    static final int MAX_OUTCOMES_PER_RESPONSE = 256;

    private final ServerCallStreamObserver<CallStreamResponse> raw;
    private final StreamOutbox<CallStreamResponse> out;
    private final CallGrpcService service;
    private final Inbound inbound;
    private final Errors errors;
    private final Executor replies;
    private final ClientSession session;
    private final String callerClient;
    private final int maxInFlight;
    /** ref → call id, for the calls whose outcome is not queued yet. */
    private final ConcurrentHashMap<Long, String> inFlight = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<CallOutcome> outcomes = new ConcurrentLinkedQueue<>();
    private final AtomicInteger occupancy = new AtomicInteger();
    private final AtomicBoolean readingPaused = new AtomicBoolean();
    private volatile boolean halfClosed;
    private final AtomicBoolean gone = new AtomicBoolean();

    CallStream(ServerCallStreamObserver<CallStreamResponse> raw, CallGrpcService service, Inbound inbound,
            Errors errors, Executor replies, String callerClient, int maxInFlight) {
        this.raw = raw;
        this.service = service;
        this.inbound = inbound;
        this.errors = errors;
        this.replies = replies;
        this.callerClient = callerClient;
        this.maxInFlight = maxInFlight;
        this.session = new ClientSession("calls:" + (callerClient.isEmpty() ? "anonymous" : callerClient));
        this.out = new StreamOutbox<>(raw, replies, this::nextResponse, () -> halfClosed && occupancy.get() == 0);
        raw.setOnCancelHandler(this::callerGone);
        PacedReading.start(raw);
    }

    @Override
    public void onNext(CallStreamRequest req) {
        if (req.getCallsCount() > MAX_CALLS_PER_REQUEST) {
            fail(errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "calls: at most " + MAX_CALLS_PER_REQUEST + " in one request, got " + req.getCallsCount()));
            return;
        }
        for (StreamedCancel c : req.getCancelsList()) {
            String id = inFlight.get(c.getRef());
            if (id != null) {
                inbound.offer(new Command.Calls(session, new CallOp.CallerGone(id, c.getDeadlinePassed())));
            }
        }
        for (StreamedCall c : req.getCallsList()) {
            call(c);
        }
        readNext();
    }

    private void call(StreamedCall c) {
        occupancy.incrementAndGet();
        long ref = c.getRef();
        var req = c.getRequest();
        StatusRuntimeException bad = service.check(req.getTarget(), req.getFunction(), req.getArgs(),
                req.getParentCallId());
        long budgetNs = c.hasTimeout()
                ? TimeUnit.SECONDS.toNanos(c.getTimeout().getSeconds()) + c.getTimeout().getNanos()
                : service.defaultTimeoutNs();
        if (bad == null && budgetNs <= 0) {
            bad = service.deadlinePassed();
        }
        if (bad != null) {
            deliver(ref, "", CallOutcome.newBuilder().setError(toCallError(bad)));
            return;
        }
        String id = service.nextId();
        if (inFlight.putIfAbsent(ref, id) != null) {
            deliver(ref, "", CallOutcome.newBuilder().setError(toCallError(errors.error(Status.Code.INVALID_ARGUMENT,
                    ErrorReason.ERROR_REASON_INVALID_ARGUMENT, "ref " + ref + " is in flight on this stream already"))));
            return;
        }
        Command.Calls cmd = new Command.Calls(session, new CallOp.Invoke(id, req.getTarget(), req.getFunction(),
                CallGrpcService.args(req.getArgs()), budgetNs, req.getParentCallId(), callerClient, new Reply(ref, id)));
        Inbound.Refusal refused = inbound.offer(cmd);
        if (refused != Inbound.Refusal.NONE) {
            inFlight.remove(ref, id);
            deliver(ref, id, CallOutcome.newBuilder().setError(toCallError(errors.queueFull(refused))));
        }
    }

    /** Where the broker answers one call of this stream. */
    private final class Reply implements CallReply {
        private final long ref;
        private final String id;

        Reply(long ref, String id) {
            this.ref = ref;
            this.id = id;
        }

        @Override
        public void value(Value value, String daemonId) {
            inFlight.remove(ref, id);
            deliver(ref, id, CallOutcome.newBuilder().setValue(value).setDaemonId(daemonId));
        }

        @Override
        public void error(CallError error) {
            errors.count(CallGrpcService.reasonOf(error));
            inFlight.remove(ref, id);
            deliver(ref, id, CallOutcome.newBuilder().setError(error));
        }
    }

    private void deliver(long ref, String id, CallOutcome.Builder outcome) {
        outcomes.add(outcome.setRef(ref).setCallId(id).build());
        out.wake();
    }

    /** The outbox's next response: the outcomes queued now, up to a response's worth. */
    private CallStreamResponse nextResponse() {
        CallOutcome first = outcomes.poll();
        if (first == null) {
            return null;
        }
        CallStreamResponse.Builder b = CallStreamResponse.newBuilder().addOutcomes(first);
        CallOutcome o;
        while (b.getOutcomesCount() < MAX_OUTCOMES_PER_RESPONSE && (o = outcomes.poll()) != null) {
            b.addOutcomes(o);
        }
        int left = occupancy.addAndGet(-b.getOutcomesCount());
        if (left <= maxInFlight / 2 && readingPaused.compareAndSet(true, false)) {
            PacedReading.next(raw, session, inbound.clientQuota(), replies);
        }
        return b.build();
    }

    /**
     * Reads the next request unless the stream is full; a full stream resumes from {@link
     * #nextResponse}. The second look closes the race with an outcome written in between.
     */
    private void readNext() {
        if (occupancy.get() >= maxInFlight) {
            readingPaused.set(true);
            if (occupancy.get() >= maxInFlight || !readingPaused.compareAndSet(true, false)) {
                return;
            }
        }
        PacedReading.next(raw, session, inbound.clientQuota(), replies);
    }

    @Override
    public void onError(Throwable t) {
        callerGone();
    }

    /** The client sent its last call: the stream ends once their outcomes are written. */
    @Override
    public void onCompleted() {
        halfClosed = true;
        out.wake();
    }

    /** The client went away: the broker cancels every call still in flight (and its handler). */
    private void callerGone() {
        if (gone.compareAndSet(false, true)) {
            inFlight.forEach((ref, id) -> inbound.offer(new Command.Calls(session, new CallOp.CallerGone(id, false))));
        }
    }

    private void fail(StatusRuntimeException status) {
        out.fail(status);
        callerGone();
    }

    /** The outcome form of a refusal made as a gRPC status (reason and metadata from its ErrorInfo). */
    static CallError toCallError(StatusRuntimeException e) {
        CallError.Builder b = CallError.newBuilder().setCode(e.getStatus().getCode().name())
                .setMessage(e.getStatus().getDescription() == null ? "" : e.getStatus().getDescription());
        Errors.errorInfo(e).ifPresent(info -> b.setReason(info.getReason()).putAllMetadata(info.getMetadataMap()));
        return b.build();
    }
}
