package io.weft.sdk;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.CallResult;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.EndpointPolicy;
import io.weft.api.v1.EndpointSpec;
import io.weft.api.v1.Invocation;
import io.weft.api.v1.Register;
import io.weft.api.v1.RemoteError;
import io.weft.api.v1.ServeRequest;
import io.weft.api.v1.ServeResponse;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An endpoint served by this client ({@link Weft#serve}): one {@code CallService.Serve} stream.
 * Invocations run on a fixed pool of handler threads with a bounded queue; an invocation that finds
 * the queue full is answered at once with a {@code weft.Overloaded} error. Closing the server (or
 * losing the daemon) unregisters the endpoint; weftd then fails its pending calls with TARGET_GONE.
 */
public final class Server implements AutoCloseable {

  private final String endpoint;
  private final Map<String, Handler> handlers;
  private final ThreadPoolExecutor pool;
  private final ScheduledExecutorService timers;
  private final Map<String, CallContext> running = new ConcurrentHashMap<>();
  private final CompletableFuture<Void> registered = new CompletableFuture<>();
  private final CompletableFuture<Throwable> ended = new CompletableFuture<>();
  private final StreamObserver<ServeRequest> requests;
  /** Set under the {@code requests} lock when close() half-closed the stream: nothing may follow. */
  private boolean closing;

  Server(ManagedChannel channel, String clientId, String endpoint, Map<String, Handler> handlers,
      EndpointPolicy policy, int threads, int queue) {
    this.endpoint = endpoint;
    this.handlers = Map.copyOf(handlers);
    AtomicInteger n = new AtomicInteger();
    this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(queue),
        r -> daemonThread(r, "weft-handler-" + endpoint + "-" + n.incrementAndGet()));
    ScheduledThreadPoolExecutor deadlines =
        new ScheduledThreadPoolExecutor(1, r -> daemonThread(r, "weft-deadlines-" + endpoint));
    // A handler that finished cancels its deadline: the task leaves the queue then, not when the
    // deadline passes (at 10,000 calls/s with 10 s budgets the queue would hold 100,000 dead tasks).
    deadlines.setRemoveOnCancelPolicy(true);
    this.timers = deadlines;
    // The stream's callbacks only hand invocations to the pool (or answer at once): they run on the
    // transport's thread rather than costing a thread hand-off per message.
    this.requests = CallServiceGrpc.newStub(channel).withExecutor(Runnable::run).serve(new StreamObserver<>() {
      @Override
      public void onNext(ServeResponse r) {
        switch (r.getMsgCase()) {
          case REGISTERED -> registered.complete(null);
          case INVOCATION -> invoke(r.getInvocation());
          case CANCEL -> {
            CallContext ctx = running.get(r.getCancel().getCallId());
            if (ctx != null) {
              ctx.cancel(r.getCancel().getReason());
            }
          }
          default -> { }
        }
      }

      @Override
      public void onError(Throwable t) {
        registered.completeExceptionally(t);
        ended.complete(t);
        cancelAll("TARGET_GONE");
      }

      @Override
      public void onCompleted() {
        registered.complete(null);
        ended.complete(null);
        cancelAll("TARGET_GONE");
      }
    });
    requests.onNext(ServeRequest.newBuilder().setRegister(Register.newBuilder()
        .setClientId(clientId)
        .addEndpoints(EndpointSpec.newBuilder().setName(endpoint).addAllFunctions(handlers.keySet())
            .setPolicy(policy))).build());
  }

  private static Thread daemonThread(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Waits until weftd accepted the registration; throws {@link WeftException} if it refused. */
  Server awaitRegistered(Duration timeout) {
    try {
      registered.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return this;
    } catch (ExecutionException e) {
      close();
      throw WeftException.fromGrpc(e.getCause());
    } catch (TimeoutException e) {
      close();
      throw new WeftException("DEADLINE_EXCEEDED", io.grpc.Status.DEADLINE_EXCEEDED
          .withDescription("weftd did not accept endpoint '" + endpoint + "' within " + timeout), Map.of(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new WeftException("CANCELLED", io.grpc.Status.CANCELLED, Map.of(), e);
    }
  }

  private void invoke(Invocation inv) {
    long budget = inv.getBudget().getSeconds() * 1_000_000_000L + inv.getBudget().getNanos();
    Context.CancellableContext grpcContext =
        Context.ROOT.withDeadline(Deadline.after(budget, TimeUnit.NANOSECONDS), timers);
    CallContext ctx = new CallContext(inv.getCallId(), inv.getEndpoint(), inv.getFunction(), inv.getCallerClient(),
        inv.getCallerDaemon(), System.nanoTime() + budget, grpcContext);
    running.put(inv.getCallId(), ctx);
    try {
      pool.execute(() -> run(ctx, inv));
    } catch (RejectedExecutionException full) {
      running.remove(inv.getCallId());
      grpcContext.cancel(null);
      answer(CallResult.newBuilder().setCallId(inv.getCallId()).setError(RemoteError.newBuilder()
          .setType("weft.Overloaded").setMessage("every handler thread of '" + endpoint + "' is busy and its queue is full"))
          .build());
    }
  }

  private void run(CallContext ctx, Invocation inv) {
    CallResult.Builder result = CallResult.newBuilder().setCallId(inv.getCallId());
    ctx.enter();
    try {
      Handler h = handlers.get(inv.getFunction());
      Object value = h.handle(ctx, Values.fromValue(inv.getArgs()));
      result.setValue(Values.toValue(value));
    } catch (Throwable t) {
      StringWriter stack = new StringWriter();
      t.printStackTrace(new PrintWriter(stack));
      result.setError(RemoteError.newBuilder().setType(t.getClass().getName())
          .setMessage(t.getMessage() == null ? "" : t.getMessage()).setStack(stack.toString()));
    } finally {
      ctx.exit();
      running.remove(inv.getCallId());
    }
    answer(result.build());
  }

  private void answer(CallResult r) {
    synchronized (requests) {
      // After close(), weftd has failed these calls with TARGET_GONE already: nothing to answer.
      if (!ended.isDone() && !closing) {
        requests.onNext(ServeRequest.newBuilder().setResult(r).build());
      }
    }
  }

  private void cancelAll(String reason) {
    running.values().forEach(c -> c.cancel(reason));
  }

  /** The endpoint's name. */
  public String endpoint() {
    return endpoint;
  }

  /** Calls being handled now. */
  public int running() {
    return running.size();
  }

  /** True once the stream ended (closed, or the daemon went away). */
  public boolean isClosed() {
    return ended.isDone();
  }

  /** Unregisters the endpoint; handlers still running are cancelled. */
  @Override
  public void close() {
    synchronized (requests) {
      if (!ended.isDone() && !closing) {
        closing = true;
        try {
          requests.onCompleted();
        } catch (IllegalStateException alreadyEnded) {
          // the daemon ended the stream first
        }
      }
    }
    cancelAll("CANCELLED");
    pool.shutdownNow();
    timers.shutdownNow();
  }
}
