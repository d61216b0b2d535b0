package io.weft.daemon.stats;

/**
 * A derived value that cannot be evaluated now (a missing entry, a division by zero...). Reported
 * as null plus this message for that entry only. Thrown often by design: no stack trace.
 */
final class EvalException extends RuntimeException {

    EvalException(String message) {
        super(message, null, false, false);
    }
}
