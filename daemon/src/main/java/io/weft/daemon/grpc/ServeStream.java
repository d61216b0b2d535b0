package io.weft.daemon.grpc;

import com.google.protobuf.Value;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.CallError;
import io.weft.api.v1.CallResult;
import io.weft.api.v1.EndpointSpec;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.Register;
import io.weft.api.v1.RemoteError;
import io.weft.api.v1.ServeRequest;
import io.weft.api.v1.ServeResponse;
import io.weft.daemon.core.CallOp;
import io.weft.daemon.core.CallServer;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One {@code CallService.Serve} stream: a register, then results; invocations and cancels go out
 * from its {@link CallServer}'s outbox, only while the stream {@code isReady()}. When the stream
 * ends in any way the server is closed and the broker fails its pending calls with TARGET_GONE.
 */
final class ServeStream implements StreamObserver<ServeRequest>, CallServer.Listener {

    /** Endpoints one registration may carry, and functions one endpoint may have. */
    static final int MAX_ENDPOINTS = 64;
    static final int MAX_FUNCTIONS = 256;
    private static final AtomicLong ANONYMOUS = new AtomicLong();

    private final StreamOutbox<ServeResponse> out;
    private final Inbound inbound;
    private final Errors errors;
    private final Executor replies;
    private final EventValidator validator;
    private final int serveMaxInFlight;
    private final int maxStackBytes;
    private volatile CallServer server;
    private volatile ClientSession session;

    ServeStream(ServerCallStreamObserver<ServeResponse> out, Inbound inbound, Errors errors, Executor replies,
            EventValidator validator, int serveMaxInFlight, int maxStackBytes) {
        this.out = new StreamOutbox<>(out, replies, () -> {
            CallServer s = server;
            return s == null ? null : s.poll();
        }, () -> false);
        this.inbound = inbound;
        this.errors = errors;
        this.replies = replies;
        this.validator = validator;
        this.serveMaxInFlight = serveMaxInFlight;
        this.maxStackBytes = maxStackBytes;
        out.setOnCancelHandler(this::gone);
    }

    @Override
    public void onNext(ServeRequest req) {
        switch (req.getMsgCase()) {
            case REGISTER -> register(req.getRegister());
            case RESULT -> result(req.getResult());
            default -> fail(errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "a ServeRequest must carry register or result"));
        }
    }

    private void register(Register r) {
        if (server != null) {
            fail(invalid("register: this stream registered already"));
            return;
        }
        String problem = checkRegister(r);
        if (problem != null) {
            fail(invalid(problem));
            return;
        }
        String clientId = r.getClientId().isEmpty() ? "serve-" + ANONYMOUS.incrementAndGet() : r.getClientId();
        CallServer s = new CallServer(clientId, serveMaxInFlight, this);
        session = new ClientSession("serve:" + clientId);
        server = s;
        Inbound.Refusal refused = inbound.offer(new Command.Calls(session, new CallOp.Register(s, r.getEndpointsList())));
        if (refused != Inbound.Refusal.NONE) {
            s.close();
            fail(errors.queueFull(refused));
        }
    }

    private static String checkRegister(Register r) {
        if (r.getClientId().length() > CallerIdentity.MAX_LENGTH) {
            return "register.client_id: longer than " + CallerIdentity.MAX_LENGTH;
        }
        if (r.getEndpointsCount() == 0 || r.getEndpointsCount() > MAX_ENDPOINTS) {
            return "register.endpoints: 1 to " + MAX_ENDPOINTS + " endpoints, got " + r.getEndpointsCount();
        }
        HashSet<String> names = new HashSet<>();
        for (int i = 0; i < r.getEndpointsCount(); i++) {
            EndpointSpec e = r.getEndpoints(i);
            String where = "register.endpoints[" + i + "]";
            String p = CallNames.checkName(e.getName());
            if (p != null) {
                return where + ".name: " + p;
            }
            if (!names.add(e.getName())) {
                return where + ".name: '" + e.getName() + "' is listed twice";
            }
            if (e.getFunctionsCount() == 0 || e.getFunctionsCount() > MAX_FUNCTIONS) {
                return where + ".functions: 1 to " + MAX_FUNCTIONS + " functions, got " + e.getFunctionsCount();
            }
            for (String f : e.getFunctionsList()) {
                p = CallNames.checkName(f);
                if (p != null) {
                    return where + ".functions: " + p;
                }
            }
        }
        return null;
    }

    private void result(CallResult r) {
        CallServer s = server;
        if (s == null) {
            fail(invalid("result: register first"));
            return;
        }
        CallResult checked = r;
        if (r.hasValue()) {
            Violation v = validator.checkJson(r.getValue(), "result.value");
            if (v != null) {
                checked = r.toBuilder().setError(RemoteError.newBuilder()
                        .setType("weft.NotJson")
                        .setMessage("the handler's result is not JSON: " + v.field() + ": " + v.description()))
                        .build();
            }
        } else if (r.hasError()) {
            checked = r.toBuilder().setError(cap(r.getError())).build();
        } else {
            checked = r.toBuilder().setValue(Value.newBuilder().setNullValueValue(0)).build();
        }
        if (inbound.offer(new Command.Calls(session, new CallOp.Result(s, checked))) != Inbound.Refusal.NONE) {
            // The caller learns at its deadline; the refusal is counted by the inbound queue.
            errors.count(ErrorReason.ERROR_REASON_QUEUE_FULL);
        }
    }

    private RemoteError cap(RemoteError e) {
        byte[] stack = e.getStack().getBytes(StandardCharsets.UTF_8);
        RemoteError.Builder b = e.toBuilder();
        if (stack.length > maxStackBytes) {
            String cut = new String(stack, 0, maxStackBytes, StandardCharsets.UTF_8);
            b.setStack(cut + "\n... (" + (stack.length - maxStackBytes) + " more bytes cut by weftd)");
        }
        if (e.getMessage().length() > maxStackBytes) {
            b.setMessage(e.getMessage().substring(0, maxStackBytes) + "...");
        }
        return b.build();
    }

    @Override
    public void onError(Throwable t) {
        gone();
    }

    @Override
    public void onCompleted() {
        gone();
        out.complete();
    }

    /** The stream is over: the broker drops the endpoints and fails the pending calls at once. */
    private void gone() {
        CallServer s = server;
        if (s == null || s.isClosed()) {
            return;
        }
        s.close();
        // If the queue is full, the broker's sweep finds the closed server within 50 ms.
        inbound.offer(new Command.Calls(session, new CallOp.ServeEnded(s)));
    }

    @Override
    public void wake() {
        out.wake();
    }

    @Override
    public void refused(CallError error) {
        replies.execute(() -> fail(errors.error(Status.Code.valueOf(error.getCode()),
                ErrorReason.valueOf("ERROR_REASON_" + error.getReason()), error.getMessage(), error.getMetadataMap())));
    }

    private void fail(StatusRuntimeException status) {
        out.fail(status);
        gone();
    }

    private StatusRuntimeException invalid(String description) {
        return errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT, description,
                Map.of());
    }
}
