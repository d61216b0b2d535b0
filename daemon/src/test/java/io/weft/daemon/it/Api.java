package io.weft.daemon.it;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.FlushRequest;
import io.weft.api.v1.FlushResponse;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.daemon.testing.Poll;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/** Small helpers for integration tests that speak the raw API. */
final class Api {
    private Api() {}

    static ContextEvent.Builder event(String id, EventKind kind, long seq) {
        return ContextEvent.newBuilder().setId(id).setRoutingKey("app.request").setKind(kind).setSeq(seq);
    }

    static Struct fields(Map<String, ?> m) {
        Struct.Builder b = Struct.newBuilder();
        m.forEach((k, v) -> b.putFields(k, v instanceof Number n
                ? Value.newBuilder().setNumberValue(n.doubleValue()).build()
                : Value.newBuilder().setStringValue(String.valueOf(v)).build()));
        return b.build();
    }

    /**
     * Publishes {@code request} as a client should: a {@code QUEUE_FULL} refusal (the inbound queue,
     * or this client's share of it, is in use while the broker catches up) is retried until
     * {@code timeout}; any other error is thrown.
     */
    static void publishRetrying(ContextServiceGrpc.ContextServiceBlockingStub stub, PublishEventsRequest request,
            Duration timeout) {
        retryingQueueFull(() -> stub.publishEvents(request), timeout,
                "the inbound queue to take " + request.getEventsCount() + " events");
    }

    /** Flushes as a client should: a {@code QUEUE_FULL} refusal is retried until {@code timeout}. */
    static FlushResponse flushRetrying(ContextServiceGrpc.ContextServiceBlockingStub stub, Duration timeout) {
        return retryingQueueFull(() -> stub.flush(FlushRequest.getDefaultInstance()), timeout,
                "the inbound queue to take a flush");
    }

    private static <T> T retryingQueueFull(Supplier<T> call, Duration timeout, String what) {
        AtomicReference<T> result = new AtomicReference<>();
        Poll.until(timeout, () -> {
            try {
                result.set(call.get());
                return true;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED && "QUEUE_FULL".equals(reason(e))) {
                    return false;
                }
                throw e;
            }
        }, () -> what);
        return result.get();
    }

    /** The ErrorInfo.reason of a failed call. */
    static String reason(StatusRuntimeException e) {
        com.google.rpc.Status s = StatusProto.fromThrowable(e);
        if (s == null) {
            return "<no details>";
        }
        return s.getDetailsList().stream()
                .filter(a -> a.is(ErrorInfo.class))
                .map(a -> {
                    try {
                        return a.unpack(ErrorInfo.class).getReason();
                    } catch (com.google.protobuf.InvalidProtocolBufferException x) {
                        throw new IllegalStateException(x);
                    }
                })
                .findFirst()
                .orElse("<no ErrorInfo>");
    }
}
