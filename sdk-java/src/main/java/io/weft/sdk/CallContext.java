package io.weft.sdk;

import io.grpc.Context;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The call a {@link Handler} is handling. Calls made through {@link Weft} while it runs (on the
 * handler's thread) inherit it: they can never outlive its deadline, they are cancelled when it is,
 * and weftd cancels them when it ends.
 *
 * <p>Arguments arrive as plain Java: null, Boolean, String, Long (integral numbers), Double,
 * {@code Map<String, Object>} and {@code List<Object>}.
 */
public final class CallContext {

  private static final ThreadLocal<CallContext> CURRENT = new ThreadLocal<>();
  private static final Executor DIRECT = Runnable::run;

  private final String callId;
  private final String endpoint;
  private final String function;
  private final String callerClient;
  private final String callerDaemon;
  private final long deadlineNanos;
  private final Context.CancellableContext grpcContext;
  private volatile String cancelReason;
  private volatile Thread thread;

  CallContext(String callId, String endpoint, String function, String callerClient, String callerDaemon,
      long deadlineNanos, Context.CancellableContext grpcContext) {
    this.callId = callId;
    this.endpoint = endpoint;
    this.function = function;
    this.callerClient = callerClient;
    this.callerDaemon = callerDaemon;
    this.deadlineNanos = deadlineNanos;
    this.grpcContext = grpcContext;
  }

  /** The call being handled on this thread, if any. */
  public static Optional<CallContext> current() {
    return Optional.ofNullable(CURRENT.get());
  }

  /** The call's id (weftd's). */
  public String callId() {
    return callId;
  }

  /** The endpoint called. */
  public String endpoint() {
    return endpoint;
  }

  /** The function called. */
  public String function() {
    return function;
  }

  /** The caller's client id ({@code weft-client-id}), or empty. */
  public String callerClient() {
    return callerClient;
  }

  /** The daemon the call started on. */
  public String callerDaemon() {
    return callerDaemon;
  }

  /** What is left of the caller's budget (negative once it passed). */
  public Duration remaining() {
    return Duration.ofNanos(deadlineNanos - System.nanoTime());
  }

  /** True once the caller gave up, the deadline passed, or weftd cancelled the call. */
  public boolean isCancelled() {
    return grpcContext.isCancelled();
  }

  /**
   * Why the call was cancelled ({@code CANCELLED}, {@code DEADLINE_EXCEEDED}, {@code TARGET_GONE}),
   * or null while it is not.
   */
  public String cancelReason() {
    if (cancelReason != null) {
      return cancelReason;
    }
    if (!grpcContext.isCancelled()) {
      return null;
    }
    return grpcContext.cancellationCause() instanceof java.util.concurrent.TimeoutException
        ? "DEADLINE_EXCEEDED" : "CANCELLED";
  }

  /** Runs {@code action} once when the call is cancelled (at once if it is already). */
  public void onCancel(Runnable action) {
    grpcContext.addListener(c -> action.run(), DIRECT);
  }

  long deadlineNanos() {
    return deadlineNanos;
  }

  Context.CancellableContext grpcContext() {
    return grpcContext;
  }

  /** weftd cancelled the call: cancels the context and interrupts the handler's thread. */
  void cancel(String reason) {
    cancelReason = reason;
    grpcContext.cancel(null);
    Thread t = thread;
    if (t != null) {
      t.interrupt();
    }
  }

  void enter() {
    thread = Thread.currentThread();
    CURRENT.set(this);
  }

  void exit() {
    CURRENT.remove();
    thread = null;
    Thread.interrupted(); // a cancel that raced the end must not leak into the next handler
    grpcContext.cancel(null);
  }

  /** The remaining budget in nanoseconds, for deadlines derived from it. */
  long remainingNanos() {
    return deadlineNanos - System.nanoTime();
  }

  @Override
  public String toString() {
    return "call " + callId + " " + endpoint + "." + function + " (" + TimeUnit.NANOSECONDS.toMillis(remainingNanos())
        + " ms left)";
  }
}
