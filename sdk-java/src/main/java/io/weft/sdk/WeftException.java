package io.weft.sdk;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.weft.api.v1.ErrorReason;
import java.util.Map;

/**
 * The one error type of the Weft SDK.
 *
 * <p>It carries a {@link #reason() reason}: the {@code google.rpc.ErrorInfo.reason} that
 * weftd attached to a failed call (one of the {@link ErrorReason} names without the
 * {@code ERROR_REASON_} prefix, e.g. {@code "UNKNOWN_OBJECT"}), or the same names for
 * invalid input refused locally before anything is sent (e.g. {@code "NOT_JSON"}).
 * When a failure did not come from weftd at all (no daemon listening, a broken
 * connection) the reason is the gRPC status code name, e.g. {@code "UNAVAILABLE"}.
 *
 * <p>Publishing never throws this because the daemon is absent or slow; only bad input
 * (a value that is not JSON, an invalid routing key) and the query calls
 * ({@code getObject}, {@code listObjects}, monitors) do.
 */
public class WeftException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private static final String PREFIX = "ERROR_REASON_";

  private final String reason;
  private final transient Status status;
  private final Map<String, String> metadata;

  /**
   * Creates an exception.
   *
   * @param reason the reason name, e.g. {@code "NOT_JSON"}
   * @param status the gRPC status the failure maps to
   * @param metadata the {@code ErrorInfo} metadata (empty when none)
   * @param cause the underlying failure, or null
   */
  public WeftException(String reason, Status status, Map<String, String> metadata, Throwable cause) {
    super(reason + ": " + describe(status), cause);
    this.reason = reason;
    this.status = status;
    this.metadata = Map.copyOf(metadata);
  }

  /** Invalid input refused by the SDK itself: status INVALID_ARGUMENT. */
  static WeftException invalid(ErrorReason reason, String description) {
    return new WeftException(
        name(reason), Status.INVALID_ARGUMENT.withDescription(description), Map.of(), null);
  }

  /**
   * Converts a failure of a gRPC call, reading the reason from the {@code ErrorInfo} in
   * the status details when weftd sent one.
   */
  static WeftException fromGrpc(Throwable t) {
    if (t instanceof WeftException w) {
      return w;
    }
    Status status = Status.fromThrowable(t);
    com.google.rpc.Status details = StatusProto.fromThrowable(t);
    if (details != null) {
      for (com.google.protobuf.Any any : details.getDetailsList()) {
        if (any.is(ErrorInfo.class)) {
          try {
            ErrorInfo info = any.unpack(ErrorInfo.class);
            return new WeftException(info.getReason(), status, info.getMetadataMap(), t);
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            break; // a malformed detail: fall back to the status code
          }
        }
      }
    }
    return new WeftException(status.getCode().name(), status, Map.of(), t);
  }

  static String name(ErrorReason reason) {
    return reason.name().substring(PREFIX.length());
  }

  private static String describe(Status status) {
    String d = status.getDescription();
    return d == null ? status.getCode().name() : d;
  }

  /** The reason name, e.g. {@code "QUEUE_FULL"}, {@code "NOT_JSON"} or {@code "UNAVAILABLE"}. */
  public String reason() {
    return reason;
  }

  /**
   * The reason as the shared enum, or {@link ErrorReason#ERROR_REASON_UNSPECIFIED} when the
   * reason is not one of weftd's (e.g. a transport failure such as {@code "UNAVAILABLE"}).
   */
  public ErrorReason errorReason() {
    try {
      return ErrorReason.valueOf(PREFIX + reason);
    } catch (IllegalArgumentException e) {
      return ErrorReason.ERROR_REASON_UNSPECIFIED;
    }
  }

  /** The gRPC status of the failure (INVALID_ARGUMENT for input refused locally). */
  public Status status() {
    return status;
  }

  /** The {@code ErrorInfo} metadata weftd attached, e.g. {@code scope} for deadlines. */
  public Map<String, String> metadata() {
    return metadata;
  }
}
