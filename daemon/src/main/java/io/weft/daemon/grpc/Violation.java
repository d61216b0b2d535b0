package io.weft.daemon.grpc;

import io.weft.api.v1.ErrorReason;

/**
 * One thing wrong with a request.
 *
 * @param reason the shared reason code
 * @param field the request field at fault, e.g. {@code events[3].routing_key}
 * @param description what is wrong, for a person
 */
public record Violation(ErrorReason reason, String field, String description) {}
