package io.weft.daemon.grpc;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.FlushRequest;
import io.weft.api.v1.FlushResponse;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.PublishEventsResponse;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code weft.v1.ContextService}: validates, then queues for the broker. Nothing else. */
public final class ContextGrpcService extends ContextServiceGrpc.ContextServiceImplBase {

    /** A flush with no timeout and no deadline waits this long. */
    static final long DEFAULT_FLUSH_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    private final Inbound inbound;
    private final Sessions sessions;
    private final EventValidator validator;
    private final Errors errors;
    private final ReplyExecutor replies;

    /** Wires the service to the broker's inbound queue. */
    public ContextGrpcService(
            Inbound inbound, Sessions sessions, EventValidator validator, Errors errors, ReplyExecutor replies) {
        this.inbound = inbound;
        this.sessions = sessions;
        this.validator = validator;
        this.errors = errors;
        this.replies = replies;
    }

    /**
     * This service's definition with a parse recursion limit that lets values nested up to {@code
     * jsonDepth} levels (and somewhat beyond, to name them) parse. Publish takes its messages as
     * {@link PublishFrame}s, which {@link PublishStream} parses where their size suits.
     */
    public ServerServiceDefinition bindWithDepth(int jsonDepth) {
        int recursionLimit = DeepRequests.recursionLimit(jsonDepth);
        MethodDescriptor<PublishRequest, PublishResponse> publish = ContextServiceGrpc.getPublishMethod();
        ServerMethodDefinition<PublishFrame, PublishResponse> framed = ServerMethodDefinition.create(
                publish.toBuilder(PublishFrame.MARSHALLER, publish.getResponseMarshaller()).build(),
                ServerCalls.asyncBidiStreamingCall(out -> new PublishStream(
                        (ServerCallStreamObserver<PublishResponse>) out, inbound, sessions, validator, errors,
                        replies, recursionLimit)));
        return DeepRequests.withRecursionLimit(DeepRequests.replaceMethod(bindService(), framed), recursionLimit);
    }

    @Override
    public void publishEvents(PublishEventsRequest req, StreamObserver<PublishEventsResponse> out) {
        if (sessions.isDraining()) {
            out.onError(shuttingDown());
            return;
        }
        List<Violation> violations = new ArrayList<>();
        for (int i = 0; i < req.getEventsCount(); i++) {
            Violation v = validator.check(req.getEvents(i), i);
            if (v != null) {
                violations.add(v);
            }
        }
        if (!violations.isEmpty()) {
            out.onError(errors.badRequest(violations));
            return;
        }
        List<ContextEvent> events = req.getEventsList();
        if (!events.isEmpty()) {
            Inbound.Refusal r = inbound.offer(new Command.Publish(sessions.unary(), 0, events));
            if (r != Inbound.Refusal.NONE) {
                out.onError(errors.queueFull(r));
                return;
            }
        }
        out.onNext(PublishEventsResponse.newBuilder().setAccepted(events.size()).build());
        out.onCompleted();
    }

    @Override
    public void flush(FlushRequest req, StreamObserver<FlushResponse> out) {
        if (sessions.isDraining()) {
            out.onError(shuttingDown());
            return;
        }
        long timeoutNs = DEFAULT_FLUSH_TIMEOUT_NS;
        if (req.hasTimeout()) {
            timeoutNs = TimeUnit.SECONDS.toNanos(req.getTimeout().getSeconds()) + req.getTimeout().getNanos();
            if (timeoutNs < 0) {
                out.onError(errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                        "timeout: must not be negative"));
                return;
            }
        }
        Deadline deadline = Context.current().getDeadline();
        if (deadline != null) {
            timeoutNs = Math.min(timeoutNs, deadline.timeRemaining(TimeUnit.NANOSECONDS));
        }
        ClientSession lane = req.getClientId().isEmpty() ? sessions.unary() : sessions.find(req.getClientId());
        if (lane == null) {
            lane = sessions.unary();
        }
        Command.Flush cmd = new Command.Flush(lane, 1, Math.max(0, timeoutNs), (token, outcome, pending) ->
                replies.execute(() -> answerFlush(out, outcome, pending)));
        Inbound.Refusal r = inbound.offer(cmd);
        if (r != Inbound.Refusal.NONE) {
            out.onError(errors.queueFull(r));
        }
    }

    private void answerFlush(StreamObserver<FlushResponse> out, Command.FlushOutcome outcome, long pending) {
        switch (outcome) {
            case REFUSED -> out.onError(errors.error(Status.Code.RESOURCE_EXHAUSTED,
                    ErrorReason.ERROR_REASON_TOO_MANY_FLUSHES,
                    "flush.max-pending flushes are waiting already; retry later"));
            case ABANDONED -> out.onError(shuttingDown());
            default -> {
                out.onNext(FlushResponse.newBuilder()
                        .setComplete(outcome == Command.FlushOutcome.COMPLETE)
                        .setPending(pending)
                        .build());
                out.onCompleted();
            }
        }
    }

    private io.grpc.StatusRuntimeException shuttingDown() {
        return errors.error(Status.Code.UNAVAILABLE, ErrorReason.ERROR_REASON_SHUTTING_DOWN,
                "weftd is shutting down");
    }
}
