package io.weft.daemon.cli;


import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.weft.daemon.grpc.Errors;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;

/**
 * Turns failed RPCs into one-line messages for the user.
 *
 * <p>An error the daemon reports carries {@code google.rpc.ErrorInfo} in the status details
 * and reads {@code error: <description> (reason <REASON>)}. A failure with no ErrorInfo and
 * code UNAVAILABLE or DEADLINE_EXCEEDED comes from the transport: the daemon is not there
 * or did not answer, and the message names the address.
 */
final class RpcErrors {

    private RpcErrors() {
    }

    /**
     * The user-facing message for a failed RPC.
     *
     * @param e the failure
     * @param address where the CLI tried to reach the daemon
     * @param timeout the deadline each RPC had
     * @return {@code error: ...}, one line
     */
    static String describe(StatusRuntimeException e, DaemonAddress address, Duration timeout) {
        Status status = e.getStatus();
        Optional<ErrorInfo> info = errorInfo(e);
        if (info.isPresent()) {
            String stack = info.get().getMetadataOrDefault("stack", "");
            return "error: " + description(status) + " (reason " + info.get().getReason() + ")"
                    + (stack.isEmpty() ? "" : "\nremote stack:\n" + stack);
        }
        switch (status.getCode()) {
            case UNAVAILABLE:
                String why = address.socketPath().filter(p -> !Files.exists(p)).isPresent()
                        ? "the socket file does not exist" : rootCause(e);
                return "error: cannot reach weftd at " + address + ": " + why
                        + " (is weftd running? set --addr or WEFT_ADDR)";
            case DEADLINE_EXCEEDED:
                return "error: weftd at " + address + " did not answer within " + DurationOption.format(timeout)
                        + " (--timeout)";
            default:
                return "error: " + description(status) + " (" + status.getCode() + ")";
        }
    }

    /** The reason code the daemon attached, if any (see {@link Errors#errorInfo}). */
    static Optional<ErrorInfo> errorInfo(StatusRuntimeException e) {
        return Errors.errorInfo(e);
    }

    private static String description(Status status) {
        String d = status.getDescription();
        return d == null || d.isBlank() ? status.getCode().toString() : d;
    }

    /**
     * The innermost explanation: "connect(..) failed: Connection refused" beats "io exception";
     * an innermost exception without a message is named by its type.
     */
    private static String rootCause(StatusRuntimeException e) {
        Throwable t = e;
        String message = description(e.getStatus());
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            message = t.getMessage() != null && !t.getMessage().isBlank() ? t.getMessage()
                    : message + " (" + t.getClass().getSimpleName() + ")";
        }
        return message;
    }
}
