package io.weft.sdk;

import com.google.protobuf.Duration;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.weft.api.v1.CallOutcome;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.CallStreamRequest;
import io.weft.api.v1.CallStreamResponse;
import io.weft.api.v1.StreamedCall;
import io.weft.api.v1.StreamedCancel;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Makes calls for {@link Weft} over one {@code CallService.CallStream}, opened on first use and
 * again after it breaks: many calls in flight cost one message each way, not a gRPC call each.
 * Each call has a local deadline timer, its parent's cancellation, and its own cancel; weftd
 * enforces the same budget and answers with the scope that ended the call.
 *
 * <p>Bounded: at most {@link #MAX_IN_FLIGHT} calls in flight; beyond, a call fails at once with
 * QUEUE_FULL. weftd reads the stream only while it has room ({@code call.stream-max-in-flight}).
 */
final class Caller implements AutoCloseable {

  /** Calls in flight on this client at most (weftd's {@code call.stream-max-in-flight} default). */
  static final int MAX_IN_FLIGHT = 4096;

  /** A cancel this close to the deadline counts as the deadline (as weftd counts it). */
  private static final long DEADLINE_MARGIN_NS = 100_000_000L;

  private static final Metadata.Key<String> CLIENT_ID =
      Metadata.Key.of("weft-client-id", Metadata.ASCII_STRING_MARSHALLER);

  private final CallServiceGrpc.CallServiceStub stub;
  private final ScheduledThreadPoolExecutor timers;
  private final AtomicLong refs = new AtomicLong();
  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  private Stream stream; // guarded by this
  private volatile boolean closed; // written under this

  Caller(ManagedChannel channel, String clientId) {
    Metadata h = new Metadata();
    h.put(CLIENT_ID, clientId);
    this.stub = CallServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h));
    this.timers = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "weft-call-deadlines");
      t.setDaemon(true);
      return t;
    });
    timers.setRemoveOnCancelPolicy(true);
  }

  /**
   * Starts a call. Inside a handler it is the handler's child: its deadline is the tighter of
   * {@code timeout} and the handler's, it is cancelled with the handler, and weftd knows its parent.
   * Cancelling the returned future cancels the call (and the remote handler).
   */
  CompletableFuture<Object> callAsync(String target, String function, Object args, java.time.Duration timeout) {
    CallRequest.Builder req = CallRequest.newBuilder().setTarget(target).setFunction(function)
        .setArgs(Values.toValue(args));
    CallContext parent = CallContext.current().orElse(null);
    long now = System.nanoTime();
    long ownDeadline = now + timeout.toNanos();
    long deadline = ownDeadline;
    if (parent != null) {
      req.setParentCallId(parent.callId());
      if (parent.deadlineNanos() - ownDeadline < 0) {
        deadline = parent.deadlineNanos();
      }
    }
    Pending p = new Pending(refs.incrementAndGet(), target, parent, ownDeadline);
    if (closed) {
      p.result.completeExceptionally(closedError(target));
      return p.result;
    }
    if (parent != null && parent.isCancelled()) {
      p.result.completeExceptionally(parentEnded(target, parent, null));
      return p.result;
    }
    if (deadline - now <= 0) {
      p.result.completeExceptionally(deadlinePassed(p));
      return p.result;
    }
    if (pending.size() >= MAX_IN_FLIGHT) {
      p.result.completeExceptionally(new CallError(target, "QUEUE_FULL", Status.RESOURCE_EXHAUSTED.withDescription(
          MAX_IN_FLIGHT + " calls are in flight on this client; retry with backoff"), Map.of(), null));
      return p.result;
    }
    pending.put(p.ref, p);
    try {
      p.timer = timers.schedule(() -> expire(p), deadline - now, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException closedMeanwhile) {
      if (settle(p)) {
        p.result.completeExceptionally(closedError(target));
      }
      return p.result;
    }
    if (parent != null) {
      p.parentListener = c -> parentCancelled(p);
      parent.grpcContext().addListener(p.parentListener, Runnable::run);
    }
    p.result.whenComplete((v, t) -> {
      if (p.result.isCancelled() && settle(p)) {
        cancel(p, false);
      }
    });
    // weftd clips the budget to the parent's (and names the scope); this side's timer fires at the tighter.
    long budgetNs = ownDeadline - now;
    send(CallStreamRequest.newBuilder().addCalls(StreamedCall.newBuilder().setRef(p.ref).setRequest(req)
        .setTimeout(Duration.newBuilder().setSeconds(budgetNs / 1_000_000_000L).setNanos((int) (budgetNs % 1_000_000_000L))))
        .build(), p);
    return p.result;
  }

  /** One call in flight. */
  private static final class Pending {
    final long ref;
    final String target;
    final CallContext parent;
    final long ownDeadline;
    final CompletableFuture<Object> result = new CompletableFuture<>();
    volatile ScheduledFuture<?> timer;
    volatile Context.CancellationListener parentListener;
    volatile Stream stream;

    Pending(long ref, String target, CallContext parent, long ownDeadline) {
      this.ref = ref;
      this.target = target;
      this.parent = parent;
      this.ownDeadline = ownDeadline;
    }
  }

  /** Takes {@code p} out of flight; true for the one caller that did. */
  private boolean settle(Pending p) {
    if (pending.remove(p.ref) == null) {
      return false;
    }
    ScheduledFuture<?> t = p.timer;
    if (t != null) {
      t.cancel(false);
    }
    if (p.parentListener != null) {
      p.parent.grpcContext().removeListener(p.parentListener);
    }
    return true;
  }

  private void expire(Pending p) {
    if (settle(p)) {
      p.result.completeExceptionally(deadlinePassed(p));
      cancel(p, true);
    }
  }

  private void parentCancelled(Pending p) {
    if (settle(p)) {
      p.result.completeExceptionally(parentEnded(p.target, p.parent, null));
      cancel(p, false);
    }
  }

  private void onOutcome(CallOutcome o) {
    Pending p = pending.get(o.getRef());
    if (p == null || !settle(p)) {
      return; // settled here already (deadline, cancel, parent): weftd's answer came second
    }
    if (o.hasError()) {
      p.result.completeExceptionally(CallError.of(p.target, Channels.toException(o.getError())));
    } else {
      p.result.complete(Values.fromValue(o.getValue()));
    }
  }

  /** Tells weftd that the caller gave up on {@code p}, so it cancels the handler. */
  private void cancel(Pending p, boolean deadlinePassed) {
    Stream s = p.stream;
    if (s != null) {
      synchronized (s) {
        if (!s.done) {
          s.call.onNext(CallStreamRequest.newBuilder().addCancels(StreamedCancel.newBuilder().setRef(p.ref)
              .setDeadlinePassed(deadlinePassed)).build());
        }
      }
    }
  }

  private void send(CallStreamRequest req, Pending p) {
    Stream s;
    synchronized (this) {
      if (closed) {
        s = null;
      } else {
        if (stream == null) {
          stream = new Stream();
          stub.callStream(stream);
        }
        s = stream;
        p.stream = s;
      }
    }
    if (s == null) {
      if (settle(p)) {
        p.result.completeExceptionally(closedError(p.target));
      }
      return;
    }
    // Under the stream's lock, as cancels are: a call settled before this point is not sent, and
    // one settled after it is sent before its cancel.
    synchronized (s) {
      if (!s.done && pending.containsKey(p.ref)) {
        s.call.onNext(req);
      }
    }
  }

  /** Fails the calls that went out on a stream that broke; the next call opens another. */
  private void broken(Stream s, Throwable why) {
    synchronized (this) {
      if (stream == s) {
        stream = null;
      }
    }
    WeftException w = WeftException.fromGrpc(why);
    for (Pending p : pending.values()) {
      if (p.stream == s && settle(p)) {
        p.result.completeExceptionally(CallError.of(p.target, w));
      }
    }
  }

  /** Fails the calls in flight with CANCELLED and ends the stream (weftd cancels their handlers). */
  @Override
  public void close() {
    Stream s;
    synchronized (this) {
      closed = true;
      s = stream;
      stream = null;
    }
    for (Pending p : pending.values()) {
      if (settle(p)) {
        p.result.completeExceptionally(closedError(p.target));
      }
    }
    if (s != null) {
      synchronized (s) {
        if (!s.done) {
          s.done = true;
          s.call.cancel("the client closed", null);
        }
      }
    }
    timers.shutdownNow();
  }

  private static CallError closedError(String target) {
    return new CallError(target, "CANCELLED", Status.CANCELLED.withDescription("the client is closed"),
        Map.of("scope", "call"), null);
  }

  /** The call's deadline, or the parent's when that was the tighter, passed on this side. */
  private static CallError deadlinePassed(Pending p) {
    boolean parentBound = p.parent != null && p.parent.deadlineNanos() - p.ownDeadline <= 0;
    if (parentBound) {
      return parentEnded(p.target, p.parent, null);
    }
    return new CallError(p.target, "DEADLINE_EXCEEDED",
        Status.DEADLINE_EXCEEDED.withDescription("the call's deadline passed before '" + p.target + "' answered"),
        Map.of("scope", "call"), null);
  }

  /**
   * The thread waiting for a call was interrupted. weftd cancelling the handler's call interrupts
   * the handler's thread, so inside a cancelled handler the nested call fails the way its parent
   * did; anywhere else the interrupt cancelled the call.
   */
  static CallError interrupted(String target, InterruptedException e) {
    CallContext parent = CallContext.current().orElse(null);
    if (parent == null || !parent.isCancelled()) {
      return new CallError(target, "CANCELLED", Status.CANCELLED.withDescription("interrupted"),
          Map.of("scope", "call"), e);
    }
    return parentEnded(target, parent, e);
  }

  /** The failure of a call whose parent (the call being handled around it) ended first. */
  private static CallError parentEnded(String target, CallContext parent, Throwable cause) {
    boolean deadline = endedByDeadline(parent);
    Status status = (deadline ? Status.DEADLINE_EXCEEDED : Status.CANCELLED).withDescription(
        "the call being handled (" + parent.callId() + " " + parent.endpoint() + "." + parent.function() + ") "
            + (deadline ? "reached its deadline" : "was cancelled") + " before '" + target + "' answered");
    return new CallError(target, deadline ? "DEADLINE_EXCEEDED" : "CANCELLED", status, Map.of("scope", "parent"),
        cause);
  }

  /**
   * Whether the parent ended because of its deadline. A parent whose deadline was (all but)
   * reached ended because of it however the cancel arrived: weftd's forwarded CANCEL and the local
   * deadline race each other (weftd applies the same margin).
   */
  private static boolean endedByDeadline(CallContext parent) {
    return "DEADLINE_EXCEEDED".equals(parent.cancelReason())
        || parent.deadlineNanos() - System.nanoTime() <= DEADLINE_MARGIN_NS;
  }

  /** One CallStream. */
  private final class Stream implements ClientResponseObserver<CallStreamRequest, CallStreamResponse> {
    ClientCallStreamObserver<CallStreamRequest> call;
    volatile boolean done;

    @Override
    public void beforeStart(ClientCallStreamObserver<CallStreamRequest> requestStream) {
      this.call = requestStream;
    }

    @Override
    public void onNext(CallStreamResponse r) {
      for (CallOutcome o : r.getOutcomesList()) {
        onOutcome(o);
      }
    }

    @Override
    public void onError(Throwable t) {
      done = true;
      broken(this, t);
    }

    @Override
    public void onCompleted() {
      done = true;
      broken(this, Status.UNAVAILABLE.withDescription("weftd ended the call stream").asRuntimeException());
    }
  }
}
