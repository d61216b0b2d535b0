package io.weft.daemon.core;

import io.weft.api.v1.CallError;
import io.weft.api.v1.ErrorReason;
import java.util.Map;

/**
 * Builds the {@link CallError}s the router answers with; the gRPC layer turns them into statuses
 * at its one error boundary. Codes are gRPC's canonical code names.
 */
final class CallErrors {

    private static final String PREFIX = "ERROR_REASON_";

    private CallErrors() {}

    static CallError of(String code, ErrorReason reason, String message) {
        return of(code, reason, message, Map.of());
    }

    static CallError of(String code, ErrorReason reason, String message, Map<String, String> metadata) {
        return CallError.newBuilder()
                .setCode(code)
                .setReason(reason.name().substring(PREFIX.length()))
                .setMessage(message)
                .putAllMetadata(metadata)
                .build();
    }
}
