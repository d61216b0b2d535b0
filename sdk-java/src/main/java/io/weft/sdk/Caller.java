package io.weft.sdk;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallResponse;
import io.weft.api.v1.CallServiceGrpc;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Makes calls for {@link Weft}: deadlines, parent inheritance, cancellation, error mapping. */
final class Caller {

  private static final Metadata.Key<String> CLIENT_ID =
      Metadata.Key.of("weft-client-id", Metadata.ASCII_STRING_MARSHALLER);

  private final CallServiceGrpc.CallServiceFutureStub stub;

  Caller(ManagedChannel channel, String clientId) {
    Metadata h = new Metadata();
    h.put(CLIENT_ID, clientId);
    this.stub = CallServiceGrpc.newFutureStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h));
  }

  /**
   * Starts a call. Inside a handler it is the handler's child: its deadline is the tighter of
   * {@code timeout} and the handler's, it is cancelled with the handler, and weftd knows its parent.
   * Cancelling the returned future cancels the call (and the remote handler).
   */
  CompletableFuture<Object> callAsync(String target, String function, Object args, Duration timeout) {
    CallRequest.Builder req = CallRequest.newBuilder().setTarget(target).setFunction(function)
        .setArgs(Values.toValue(args));
    CallContext parent = CallContext.current().orElse(null);
    Context base = Context.current();
    if (parent != null) {
      req.setParentCallId(parent.callId());
      base = parent.grpcContext();
    }
    long ownDeadline = System.nanoTime() + timeout.toNanos();
    Context.CancellableContext ctx = base.withCancellation();
    CompletableFuture<Object> result = new CompletableFuture<>();
    ListenableFuture<CallResponse> f;
    Context previous = ctx.attach();
    try {
      f = stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS).call(req.build());
    } finally {
      ctx.detach(previous);
    }
    Futures.addCallback(f, new FutureCallback<>() {
      @Override
      public void onSuccess(CallResponse r) {
        result.complete(Values.fromValue(r.getValue()));
        ctx.close();
      }

      @Override
      public void onFailure(Throwable t) {
        result.completeExceptionally(toCallError(target, t, parent, ownDeadline));
        ctx.close();
      }
    }, MoreExecutors.directExecutor());
    result.whenComplete((v, t) -> {
      if (result.isCancelled()) {
        ctx.cancel(null);
      }
    });
    return result;
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
    boolean deadline = endedByDeadline(parent);
    Status status = (deadline ? Status.DEADLINE_EXCEEDED : Status.CANCELLED).withDescription(
        "the call being handled (" + parent.callId() + " " + parent.endpoint() + "." + parent.function() + ") "
            + (deadline ? "reached its deadline" : "was cancelled"));
    return new CallError(target, deadline ? "DEADLINE_EXCEEDED" : "CANCELLED", status, Map.of("scope", "parent"), e);
  }

  /**
   * Whether a cancelled parent ended because of its deadline. A parent whose deadline was (all but)
   * reached ended because of it however the cancel arrived: weftd's forwarded CANCEL and the local
   * deadline race each other (weftd applies the same margin).
   */
  private static boolean endedByDeadline(CallContext parent) {
    return parent.isCancelled() && ("DEADLINE_EXCEEDED".equals(parent.cancelReason())
        || parent.deadlineNanos() - System.nanoTime() <= DEADLINE_MARGIN_NS);
  }

  /** A cancel this close to the deadline counts as the deadline (as weftd counts it). */
  private static final long DEADLINE_MARGIN_NS = 100_000_000L;

  private static CallError toCallError(String target, Throwable t, CallContext parent, long ownDeadline) {
    WeftException w = WeftException.fromGrpc(t);
    Status.Code code = w.status().getCode();
    if (w.metadata().containsKey("scope") || (code != Status.Code.DEADLINE_EXCEEDED && code != Status.Code.CANCELLED)) {
      return CallError.of(target, w);
    }
    // The failure came from this side's own gRPC deadline or context, not from weftd: name the scope.
    boolean parentBound = parent != null
        && (parent.isCancelled() || parent.deadlineNanos() - ownDeadline <= 0);
    Map<String, String> meta = new HashMap<>(w.metadata());
    meta.put("scope", parentBound ? "parent" : "call");
    String reason = code == Status.Code.DEADLINE_EXCEEDED || (parentBound && endedByDeadline(parent))
        ? "DEADLINE_EXCEEDED" : "CANCELLED";
    return new CallError(target, reason, w.status(), meta, t);
  }
}
