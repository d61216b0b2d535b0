package io.weft.sdk;

import io.grpc.Status;
import java.util.Map;

/**
 * A call that failed. {@link #reason()} says how: {@code CALL_FAILED} (the handler raised: see
 * {@link #remoteType()}, {@link #remoteMessage()}, {@link #remoteStack()}), {@code TARGET_GONE},
 * {@code DEADLINE_EXCEEDED} (see {@link #scope()}), {@code CANCELLED}, {@code NO_ROUTE},
 * {@code UNKNOWN_FUNCTION}, {@code POLICY_DENIED}, {@code QUEUE_FULL}...
 */
public class CallError extends WeftException {
  private static final long serialVersionUID = 1L;

  private final String target;

  CallError(String target, String reason, Status status, Map<String, String> metadata, Throwable cause) {
    super(reason, status, metadata, cause);
    this.target = target;
  }

  static CallError of(String target, WeftException e) {
    return new CallError(target, e.reason(), e.status(), e.metadata(), e.getCause() != null ? e.getCause() : e);
  }

  /** The target called. */
  public String target() {
    return target;
  }

  /** The handler's exception type, or null when the handler did not raise. */
  public String remoteType() {
    return metadata().get("type");
  }

  /** The handler's exception message, or null. */
  public String remoteMessage() {
    return metadata().get("message");
  }

  /** The handler's stack (capped by weftd), or null. */
  public String remoteStack() {
    return metadata().get("stack");
  }

  /**
   * For DEADLINE_EXCEEDED and CANCELLED: {@code "call"} when this call's own deadline or caller
   * ended it, {@code "parent"} when the call being handled around it did; else null.
   */
  public String scope() {
    return metadata().get("scope");
  }
}
