package io.weft.daemon.it;

import com.google.protobuf.Value;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.CallResult;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.CancelInvocation;
import io.weft.api.v1.EndpointSpec;
import io.weft.api.v1.Invocation;
import io.weft.api.v1.Register;
import io.weft.api.v1.Registered;
import io.weft.api.v1.RemoteError;
import io.weft.api.v1.ServeRequest;
import io.weft.api.v1.ServeResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A serving client speaking the raw CallService.Serve protocol, for integration tests: answers
 * invocations with {@code handler} (null = leave the call pending, to be answered by the test),
 * and records what arrived.
 */
final class RawServer implements AutoCloseable {

    final LinkedBlockingQueue<Invocation> invocations = new LinkedBlockingQueue<>();
    final Map<String, CancelInvocation> cancels = new ConcurrentHashMap<>();
    final CompletableFuture<Registered> registered = new CompletableFuture<>();
    final CompletableFuture<Status> ended = new CompletableFuture<>();
    private final StreamObserver<ServeRequest> requests;

    RawServer(ManagedChannel channel, String clientId, Function<Invocation, CallResult> handler, EndpointSpec... endpoints) {
        requests = CallServiceGrpc.newStub(channel).serve(new StreamObserver<>() {
            @Override
            public void onNext(ServeResponse r) {
                switch (r.getMsgCase()) {
                    case REGISTERED -> registered.complete(r.getRegistered());
                    case INVOCATION -> {
                        invocations.add(r.getInvocation());
                        CallResult res = handler == null ? null : handler.apply(r.getInvocation());
                        if (res != null) {
                            send(res);
                        }
                    }
                    case CANCEL -> cancels.put(r.getCancel().getCallId(), r.getCancel());
                    default -> { }
                }
            }

            @Override
            public void onError(Throwable t) {
                Status s = Status.fromThrowable(t);
                registered.completeExceptionally(t);
                ended.complete(s);
            }

            @Override
            public void onCompleted() {
                ended.complete(Status.OK);
            }
        });
        Register.Builder reg = Register.newBuilder().setClientId(clientId);
        for (EndpointSpec e : endpoints) {
            reg.addEndpoints(e);
        }
        requests.onNext(ServeRequest.newBuilder().setRegister(reg).build());
    }

    static EndpointSpec endpoint(String name, String... functions) {
        return EndpointSpec.newBuilder().setName(name).addAllFunctions(java.util.List.of(functions)).build();
    }

    static CallResult value(Invocation inv, Value v) {
        return CallResult.newBuilder().setCallId(inv.getCallId()).setValue(v).build();
    }

    static CallResult failure(Invocation inv, String type, String message, String stack) {
        return CallResult.newBuilder().setCallId(inv.getCallId())
                .setError(RemoteError.newBuilder().setType(type).setMessage(message).setStack(stack)).build();
    }

    RawServer awaitRegistered() throws Exception {
        registered.get(10, TimeUnit.SECONDS);
        return this;
    }

    Invocation nextInvocation(Duration timeout) throws InterruptedException {
        Invocation inv = invocations.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (inv == null) {
            throw new AssertionError("no invocation within " + timeout);
        }
        return inv;
    }

    synchronized void send(CallResult r) {
        requests.onNext(ServeRequest.newBuilder().setResult(r).build());
    }

    /** Ends the stream cleanly (the endpoints are unregistered). */
    @Override
    public synchronized void close() {
        try {
            requests.onCompleted();
        } catch (IllegalStateException alreadyEnded) {
            // The daemon ended it first.
        }
    }
}
