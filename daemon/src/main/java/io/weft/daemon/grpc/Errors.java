package io.weft.daemon.grpc;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.weft.api.v1.ErrorReason;
import io.weft.daemon.core.Inbound;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * The one place where failures become gRPC statuses (DESIGN §12): a canonical code, a description,
 * {@code google.rpc.ErrorInfo{reason, domain "weft", metadata}} and, for invalid input, a {@code
 * BadRequest}. Every error made here is counted by reason for {@code AdminService.Info}.
 */
public final class Errors {

    /** The ErrorInfo domain of every Weft error. */
    public static final String DOMAIN = "weft";

    private static final String PREFIX = "ERROR_REASON_";

    private final EnumMap<ErrorReason, LongAdder> counts = new EnumMap<>(ErrorReason.class);

    /** Creates the counters, one per reason. */
    public Errors() {
        for (ErrorReason r : ErrorReason.values()) {
            if (r != ErrorReason.UNRECOGNIZED) {
                counts.put(r, new LongAdder());
            }
        }
    }

    /** The reason as it appears in {@code ErrorInfo.reason}: its enum name without the prefix. */
    public static String reasonName(ErrorReason reason) {
        return reason.name().substring(PREFIX.length());
    }

    /** A status with ErrorInfo; counts it. */
    public StatusRuntimeException error(Status.Code code, ErrorReason reason, String description) {
        return error(code, reason, description, Map.of());
    }

    /** A status with ErrorInfo carrying {@code metadata}; counts it. */
    public StatusRuntimeException error(
            Status.Code code, ErrorReason reason, String description, Map<String, String> metadata) {
        count(reason);
        return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                .setCode(code.value())
                .setMessage(description)
                .addDetails(Any.pack(errorInfo(reason, metadata)))
                .build());
    }

    /** RESOURCE_EXHAUSTED with reason QUEUE_FULL for a refused offer, saying which bound refused it; counts it. */
    public StatusRuntimeException queueFull(Inbound.Refusal refusal) {
        return error(Status.Code.RESOURCE_EXHAUSTED, ErrorReason.ERROR_REASON_QUEUE_FULL, queueFullMessage(refusal));
    }

    /** What a refused offer's error says: the whole inbound queue is full, or this client's share of it is in use. */
    public static String queueFullMessage(Inbound.Refusal refusal) {
        return refusal == Inbound.Refusal.CLIENT_QUOTA
                ? "this client has its share of the inbound queue in use; retry with backoff"
                : "the daemon's inbound queue is full; retry with backoff";
    }

    /** INVALID_ARGUMENT with ErrorInfo (the first violation's reason) and a BadRequest listing all. */
    public StatusRuntimeException badRequest(List<Violation> violations) {
        Violation first = violations.get(0);
        count(first.reason());
        BadRequest.Builder br = BadRequest.newBuilder();
        for (Violation v : violations) {
            br.addFieldViolations(BadRequest.FieldViolation.newBuilder()
                    .setField(v.field())
                    .setDescription(reasonName(v.reason()) + ": " + v.description()));
        }
        String message = violations.size() == 1
                ? first.field() + ": " + first.description()
                : first.field() + ": " + first.description() + " (and " + (violations.size() - 1) + " more)";
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("field", first.field());
        meta.put("violations", Integer.toString(violations.size()));
        return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                .setCode(Status.Code.INVALID_ARGUMENT.value())
                .setMessage(message)
                .addDetails(Any.pack(errorInfo(first.reason(), meta)))
                .addDetails(Any.pack(br.build()))
                .build());
    }

    /**
     * The {@code ErrorInfo} a status carries in its details (the reason code and metadata), if any;
     * a malformed detail is passed over.
     */
    public static Optional<ErrorInfo> errorInfo(StatusRuntimeException e) {
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        if (details == null) {
            return Optional.empty();
        }
        for (Any any : details.getDetailsList()) {
            if (any.is(ErrorInfo.class)) {
                try {
                    return Optional.of(any.unpack(ErrorInfo.class));
                } catch (InvalidProtocolBufferException malformed) {
                    // says nothing usable; look at the others
                }
            }
        }
        return Optional.empty();
    }

    /** Counts an error reported some other way (e.g. an event rejected inside a stream's ack). */
    public void count(ErrorReason reason) {
        LongAdder c = counts.get(reason);
        if (c != null) {
            c.increment();
        }
    }

    /** Errors so far by reason name, for introspection (reasons never seen are left out). */
    public Map<String, Long> counts() {
        Map<String, Long> out = new LinkedHashMap<>();
        counts.forEach((r, c) -> {
            long n = c.sum();
            if (n > 0) {
                out.put("errors_" + reasonName(r), n);
            }
        });
        return out;
    }

    private static ErrorInfo errorInfo(ErrorReason reason, Map<String, String> metadata) {
        return ErrorInfo.newBuilder()
                .setDomain(DOMAIN)
                .setReason(reasonName(reason))
                .putAllMetadata(metadata)
                .build();
    }
}
