package io.weft.daemon.grpc;

import com.google.protobuf.Value;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.CallAllRequest;
import io.weft.api.v1.CallAllResponse;
import io.weft.api.v1.CallError;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallResponse;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.CallStreamRequest;
import io.weft.api.v1.CallStreamResponse;
import io.weft.api.v1.ChannelRequest;
import io.weft.api.v1.ChannelResponse;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.ServeRequest;
import io.weft.api.v1.ServeResponse;
import io.weft.daemon.core.CallOp;
import io.weft.daemon.core.CallReply;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code weft.v1.CallService}: validates calls, gives each an id and a budget (its gRPC deadline, or
 * on a {@link CallStream} its own timeout), and queues it for the broker's call router; a caller that
 * cancels or times out is reported to the router, which cancels the handler. Nothing else.
 */
public final class CallGrpcService extends CallServiceGrpc.CallServiceImplBase {

    /** See {@link #deadlinePassed}. */
    static final long DEADLINE_SLACK_MS = 100;

    /** Targets of one CallAll at most. */
    static final int MAX_TARGETS = 256;

    /**
     * The bounds of the call edge.
     *
     * @param daemonId prefixes call ids, which are unique on this daemon
     * @param defaultTimeoutNs the budget of a call without a gRPC deadline
     * @param serveMaxInFlight calls one Serve stream may have in flight
     * @param maxStackBytes a handler's stack is cut to this
     * @param channelQueue channel messages waiting for one Channel stream at most
     * @param streamMaxInFlight calls one CallStream may have in flight (with outcomes not yet written)
     */
    public record Limits(String daemonId, long defaultTimeoutNs, int serveMaxInFlight, int maxStackBytes,
            int channelQueue, int streamMaxInFlight) {}

    private final Inbound inbound;
    private final Sessions sessions;
    private final Errors errors;
    private final ReplyExecutor replies;
    private final EventValidator validator;
    private final Limits limits;
    private final String idPrefix;
    private final AtomicLong ids = new AtomicLong();

    public CallGrpcService(Inbound inbound, Sessions sessions, Errors errors, ReplyExecutor replies,
            EventValidator validator, Limits limits) {
        this.inbound = inbound;
        this.sessions = sessions;
        this.errors = errors;
        this.replies = replies;
        this.validator = validator;
        this.limits = limits;
        this.idPrefix = limits.daemonId() + ":" + Long.toHexString(System.nanoTime() & 0xffffff) + ":";
    }

    /** The service with the caller-identity interceptor and the JSON depth limit. */
    public ServerServiceDefinition bind(int jsonDepth) {
        return ServerInterceptors.intercept(
                DeepRequests.withRecursionLimit(bindService(), DeepRequests.recursionLimit(jsonDepth)),
                new CallerIdentity());
    }

    @Override
    public StreamObserver<ServeRequest> serve(StreamObserver<ServeResponse> responseObserver) {
        ServerCallStreamObserver<ServeResponse> out = (ServerCallStreamObserver<ServeResponse>) responseObserver;
        if (sessions.isDraining()) {
            out.onError(shuttingDown());
            return new NoRequests<>();
        }
        return new ServeStream(out, inbound, errors, replies, validator, limits.serveMaxInFlight(),
                limits.maxStackBytes());
    }

    @Override
    public StreamObserver<ChannelRequest> channel(StreamObserver<ChannelResponse> responseObserver) {
        ServerCallStreamObserver<ChannelResponse> out = (ServerCallStreamObserver<ChannelResponse>) responseObserver;
        if (sessions.isDraining()) {
            out.onError(shuttingDown());
            return new NoRequests<>();
        }
        String clientId = CallerIdentity.current();
        return new ChannelStream(out, inbound, errors, replies, validator,
                clientId.isEmpty() ? "channel-" + ids.incrementAndGet() : clientId, limits.channelQueue());
    }

    @Override
    public StreamObserver<CallStreamRequest> callStream(StreamObserver<CallStreamResponse> responseObserver) {
        ServerCallStreamObserver<CallStreamResponse> out = (ServerCallStreamObserver<CallStreamResponse>) responseObserver;
        if (sessions.isDraining()) {
            out.onError(shuttingDown());
            return new NoRequests<>();
        }
        return new CallStream(out, this, inbound, errors, replies, CallerIdentity.current(),
                limits.streamMaxInFlight());
    }

    @Override
    public void call(CallRequest req, StreamObserver<CallResponse> responseObserver) {
        ServerCallStreamObserver<CallResponse> out = (ServerCallStreamObserver<CallResponse>) responseObserver;
        StatusRuntimeException bad = check(req.getTarget(), req.getFunction(), req.getArgs(), req.getParentCallId());
        if (bad != null) {
            out.onError(bad);
            return;
        }
        long budgetNs = budgetNs();
        if (budgetNs <= 0) {
            out.onError(deadlinePassed());
            return;
        }
        String id = nextId();
        AtomicBoolean answered = new AtomicBoolean();
        Context grpcContext = Context.current();
        out.setOnCancelHandler(() -> {
            if (!answered.get()) {
                inbound.offer(new Command.Calls(sessions.unary(), new CallOp.CallerGone(id, deadlinePassed(grpcContext))));
            }
        });
        CallReply reply = new CallReply() {
            @Override
            public void value(Value value, String daemonId) {
                answered.set(true);
                replies.execute(() -> {
                    out.onNext(CallResponse.newBuilder().setValue(value).setCallId(id).setDaemonId(daemonId).build());
                    out.onCompleted();
                });
            }

            @Override
            public void error(CallError error) {
                answered.set(true);
                replies.execute(() -> out.onError(toStatus(error)));
            }
        };
        Command.Calls cmd = new Command.Calls(sessions.unary(), new CallOp.Invoke(id, req.getTarget(),
                req.getFunction(), args(req.getArgs()), budgetNs, req.getParentCallId(), CallerIdentity.current(), reply));
        Inbound.Refusal refused = inbound.offer(cmd);
        if (refused != Inbound.Refusal.NONE) {
            answered.set(true);
            out.onError(errors.queueFull(refused));
        }
    }

    @Override
    public void callAll(CallAllRequest req, StreamObserver<CallAllResponse> responseObserver) {
        ServerCallStreamObserver<CallAllResponse> out = (ServerCallStreamObserver<CallAllResponse>) responseObserver;
        int n = req.getTargetsCount();
        if (n == 0 || n > MAX_TARGETS) {
            out.onError(invalid("targets: 1 to " + MAX_TARGETS + " targets, got " + n));
            return;
        }
        for (String t : req.getTargetsList()) {
            StatusRuntimeException bad = check(t, req.getFunction(), req.getArgs(), req.getParentCallId());
            if (bad != null) {
                out.onError(bad);
                return;
            }
        }
        long budgetNs = budgetNs();
        if (budgetNs <= 0) {
            out.onError(deadlinePassed());
            return;
        }
        FanOut fan = new FanOut(out, n);
        String[] ids = new String[n];
        for (int i = 0; i < n; i++) {
            ids[i] = nextId();
        }
        Context grpcContext = Context.current();
        out.setOnCancelHandler(() -> {
            boolean expired = deadlinePassed(grpcContext);
            for (int i = 0; i < n; i++) {
                if (!fan.isAnswered(i)) {
                    inbound.offer(new Command.Calls(sessions.unary(), new CallOp.CallerGone(ids[i], expired)));
                }
            }
        });
        Value args = args(req.getArgs());
        String caller = CallerIdentity.current();
        for (int i = 0; i < n; i++) {
            final int index = i;
            String target = req.getTargets(i);
            CallReply reply = new CallReply() {
                @Override
                public void value(Value value, String daemonId) {
                    fan.answer(index, CallAllResponse.newBuilder().setIndex(index).setTarget(target).setValue(value).build(),
                            replies);
                }

                @Override
                public void error(CallError error) {
                    errors.count(reasonOf(error));
                    fan.answer(index, CallAllResponse.newBuilder().setIndex(index).setTarget(target).setError(error).build(),
                            replies);
                }
            };
            Command.Calls cmd = new Command.Calls(sessions.unary(), new CallOp.Invoke(ids[i], target, req.getFunction(),
                    args, budgetNs, req.getParentCallId(), caller, reply));
            Inbound.Refusal refused = inbound.offer(cmd);
            if (refused != Inbound.Refusal.NONE) {
                reply.error(CallError.newBuilder().setCode("RESOURCE_EXHAUSTED")
                        .setReason(Errors.reasonName(ErrorReason.ERROR_REASON_QUEUE_FULL))
                        .setMessage(Errors.queueFullMessage(refused)).build());
            }
        }
    }

    /**
     * The responses of one CallAll, written in arrival order and ended after the last. At most
     * {@link #MAX_TARGETS} small messages, so they are written without waiting for {@code isReady}.
     */
    private static final class FanOut {
        private final ServerCallStreamObserver<CallAllResponse> out;
        private final boolean[] answered;
        private int left;

        FanOut(ServerCallStreamObserver<CallAllResponse> out, int n) {
            this.out = out;
            this.answered = new boolean[n];
            this.left = n;
        }

        synchronized boolean isAnswered(int i) {
            return answered[i];
        }

        void answer(int i, CallAllResponse r, ReplyExecutor replies) {
            synchronized (this) {
                answered[i] = true;
            }
            replies.execute(() -> write(r));
        }

        private synchronized void write(CallAllResponse r) {
            if (out.isCancelled()) {
                return;
            }
            out.onNext(r);
            if (--left == 0) {
                out.onCompleted();
            }
        }
    }

    StatusRuntimeException check(String target, String function, Value args, String parentCallId) {
        if (sessions.isDraining()) {
            return shuttingDown();
        }
        String p = CallNames.checkTarget(target);
        if (p != null) {
            return invalid(p);
        }
        p = CallNames.checkName(function);
        if (p != null) {
            return invalid("function: " + p);
        }
        if (parentCallId.length() > CallNames.MAX_CALL_ID) {
            return invalid("parent_call_id: longer than " + CallNames.MAX_CALL_ID);
        }
        Violation v = validator.checkJson(args, "args");
        if (v != null) {
            return errors.badRequest(java.util.List.of(v));
        }
        return null;
    }

    long defaultTimeoutNs() {
        return limits.defaultTimeoutNs();
    }

    private long budgetNs() {
        Deadline d = Context.current().getDeadline();
        return d == null ? limits.defaultTimeoutNs() : d.timeRemaining(TimeUnit.NANOSECONDS);
    }

    /**
     * Whether a caller that went away did so because its deadline passed. A client ends the stream
     * at its own deadline, which falls before this side's copy (received later), so a cancel within
     * {@link #DEADLINE_SLACK_MS} of the deadline counts as the deadline.
     */
    private static boolean deadlinePassed(Context c) {
        Deadline d = c.getDeadline();
        return d != null && d.timeRemaining(TimeUnit.MILLISECONDS) <= DEADLINE_SLACK_MS;
    }

    static Value args(Value v) {
        return v.getKindCase() == Value.KindCase.KIND_NOT_SET ? Value.newBuilder().setNullValueValue(0).build() : v;
    }

    String nextId() {
        return idPrefix + ids.incrementAndGet();
    }

    /** The status a CallError stands for: the one boundary where call failures become gRPC errors. */
    StatusRuntimeException toStatus(CallError e) {
        return errors.error(Status.Code.valueOf(e.getCode()), reasonOf(e), e.getMessage(), e.getMetadataMap());
    }

    static ErrorReason reasonOf(CallError e) {
        try {
            return ErrorReason.valueOf("ERROR_REASON_" + e.getReason());
        } catch (IllegalArgumentException unknown) {
            return ErrorReason.ERROR_REASON_UNSPECIFIED;
        }
    }

    StatusRuntimeException deadlinePassed() {
        return errors.error(Status.Code.DEADLINE_EXCEEDED, ErrorReason.ERROR_REASON_DEADLINE_EXCEEDED,
                "the call's deadline passed before it reached weftd", Map.of("scope", "call"));
    }

    private StatusRuntimeException shuttingDown() {
        return errors.error(Status.Code.UNAVAILABLE, ErrorReason.ERROR_REASON_SHUTTING_DOWN, "weftd is shutting down");
    }

    private StatusRuntimeException invalid(String description) {
        return errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT, description);
    }

    /** The request side of a stream refused at once. */
    private static final class NoRequests<T> implements StreamObserver<T> {
        @Override
        public void onNext(T value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
    }
}
