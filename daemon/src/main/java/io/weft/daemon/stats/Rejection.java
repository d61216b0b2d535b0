package io.weft.daemon.stats;

import io.weft.api.v1.ErrorReason;

/**
 * Why one stats op was not applied.
 *
 * @param reason the shared error reason
 * @param description what was wrong, naming the entry
 * @param position for BAD_EXPRESSION, the 1-based offset of the fault in the expression; else 0
 */
public record Rejection(ErrorReason reason, String description, int position) {

    /** Not applied because its namespace is switched off; not an error. */
    public static final Rejection DISABLED = new Rejection(ErrorReason.ERROR_REASON_UNSPECIFIED, "namespace is off", 0);

    static Rejection of(ErrorReason reason, String description) {
        return new Rejection(reason, description, 0);
    }

    static Rejection conflict(String description) {
        return of(ErrorReason.ERROR_REASON_STATS_CONFLICT, description);
    }

    static Rejection full(String description) {
        return of(ErrorReason.ERROR_REASON_STATS_FULL, description);
    }
}
