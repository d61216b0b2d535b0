package io.weft.sdk;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * An endpoint served by this client ({@link Weft#serve}) over a {@code CallService.Serve} stream.
 * Invocations run on a fixed pool of handler threads with a bounded queue; an invocation that finds
 * the queue full is answered at once with a {@code weft.Overloaded} error.
 *
 * <p>When the stream breaks (weftd restarted, say), the handlers still running are cancelled
 * ({@code TARGET_GONE}: weftd failed their calls) and the server registers again on a new stream,
 * after a back-off that starts at the client's {@link Weft.Builder#reconnectBackoff initial
 * reconnect delay} and doubles up to its maximum, until weftd accepts it or the server is closed.
 * Results of calls that came over a broken stream are dropped. Closing the server unregisters the
 * endpoint; weftd then fails its pending calls with TARGET_GONE.
 */
public final class Server implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger("io.weft.sdk");

  private final String endpoint;
  private final Map<String, Handler> handlers;
  private final ManagedChannel channel;
  private final CallServiceGrpc.CallServiceStub stub;
  private final ServeRequest register;
  private final ThreadPoolExecutor pool;
  private final ScheduledExecutorService timers;
  private final Map<String, CallContext> running = new ConcurrentHashMap<>();
  private final long initialBackoffNs;
  private final long maxBackoffNs;
  private final AtomicLong registrations = new AtomicLong();
  private long backoffNs; // guarded by this
  private Registration current; // guarded by this
  private boolean closed; // guarded by this

  Server(ManagedChannel channel, String clientId, String endpoint, Map<String, Handler> handlers,
      EndpointPolicy policy, int threads, int queue, Duration initialBackoff, Duration maxBackoff) {
    this.endpoint = endpoint;
    this.handlers = Map.copyOf(handlers);
    this.initialBackoffNs = initialBackoff.toNanos();
    this.maxBackoffNs = maxBackoff.toNanos();
    this.backoffNs = initialBackoffNs;
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
    this.channel = channel;
    this.stub = CallServiceGrpc.newStub(channel).withExecutor(Runnable::run);
    this.register = ServeRequest.newBuilder().setRegister(Register.newBuilder()
        .setClientId(clientId)
        .addEndpoints(EndpointSpec.newBuilder().setName(endpoint).addAllFunctions(handlers.keySet())
            .setPolicy(policy))).build();
    Registration first = new Registration();
    synchronized (this) {
      current = first;
    }
    first.start();
  }

  private static Thread daemonThread(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /**
   * One Serve stream: registers the endpoint, takes invocations and cancels, sends results. Its end
   * cancels the handlers it started and, unless the server was closed, starts the next one.
   */
  private final class Registration implements StreamObserver<ServeResponse> {
    final CompletableFuture<Void> registered = new CompletableFuture<>();
    private StreamObserver<ServeRequest> requests; // guarded by this
    private boolean ended; // guarded by this

    /** Opens the stream and registers; its end may be reported before this returns. */
    void start() {
      StreamObserver<ServeRequest> r = stub.serve(this);
      synchronized (this) {
        requests = r;
        if (!ended) {
          r.onNext(register);
        } else {
          halfClose(); // closed (or failed) while the stream was being opened
        }
      }
    }

    @Override
    public void onNext(ServeResponse r) {
      switch (r.getMsgCase()) {
        case REGISTERED -> {
          if (registered.complete(null)) {
            onRegistered();
          }
        }
        case INVOCATION -> invoke(this, r.getInvocation());
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
      end(t);
    }

    @Override
    public void onCompleted() {
      end(Status.UNAVAILABLE.withDescription("weftd ended the Serve stream").asRuntimeException());
    }

    private void end(Throwable why) {
      synchronized (this) {
        ended = true;
      }
      boolean wasRegistered = registered.isDone() && !registered.isCompletedExceptionally();
      registered.completeExceptionally(why);
      cancelAll("TARGET_GONE");
      onEnded(this, wasRegistered, why);
    }

    /** Sends a result, unless this stream ended or was half-closed (its calls failed already). */
    void answer(CallResult r) {
      synchronized (this) {
        if (!ended) {
          requests.onNext(ServeRequest.newBuilder().setResult(r).build());
        }
      }
    }

    /** Ends the stream: weftd unregisters the endpoint and fails its pending calls. */
    synchronized void finish() {
      if (!ended) {
        ended = true;
        if (requests != null) {
          halfClose();
        }
      }
    }

    private void halfClose() {
      try {
        requests.onCompleted();
      } catch (IllegalStateException alreadyEnded) {
        // the daemon ended it first
      }
    }
  }

  /** Waits until weftd accepted the first registration; throws {@link WeftException} if it refused. */
  Server awaitRegistered(Duration timeout) {
    Registration first;
    synchronized (this) {
      first = current;
    }
    try {
      first.registered.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
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

  private void onRegistered() {
    long n = registrations.incrementAndGet();
    synchronized (this) {
      backoffNs = initialBackoffNs;
    }
    if (n > 1) {
      LOG.info("endpoint '" + endpoint + "' is registered again");
    }
  }

  /**
   * A stream ended. The first one, refused, ends the server (awaitRegistered reports why); after a
   * registration, any end but INVALID_ARGUMENT (the spec itself refused) is followed by another
   * attempt after the back-off.
   */
  private void onEnded(Registration r, boolean wasRegistered, Throwable why) {
    long delayNs;
    synchronized (this) {
      if (closed || r != current || (registrations.get() == 0 && !wasRegistered)) {
        return;
      }
      if (Status.fromThrowable(why).getCode() == Status.Code.INVALID_ARGUMENT) {
        LOG.warning("endpoint '" + endpoint + "' is no longer served: weftd refused it: " + why.getMessage());
        closed = true;
        shutDown();
        return;
      }
      delayNs = backoffNs;
      backoffNs = Math.min(maxBackoffNs, backoffNs * 2);
    }
    if (wasRegistered) {
      LOG.info("endpoint '" + endpoint + "' lost its registration (" + why.getMessage() + "); registering again");
    }
    try {
      timers.schedule(this::reregister, delayNs, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException closedMeanwhile) {
      // close() shut the timers down: nothing to retry
    }
  }

  private void reregister() {
    Registration next = new Registration();
    synchronized (this) {
      if (closed) {
        return;
      }
      current = next;
    }
    channel.resetConnectBackoff(); // gRPC's own backoff would otherwise delay us up to 2 min
    next.start();
  }

  private void invoke(Registration from, Invocation inv) {
    long budget = inv.getBudget().getSeconds() * 1_000_000_000L + inv.getBudget().getNanos();
    Context.CancellableContext grpcContext =
        Context.ROOT.withDeadline(Deadline.after(budget, TimeUnit.NANOSECONDS), timers);
    CallContext ctx = new CallContext(inv.getCallId(), inv.getEndpoint(), inv.getFunction(), inv.getCallerClient(),
        inv.getCallerDaemon(), System.nanoTime() + budget, grpcContext);
    running.put(inv.getCallId(), ctx);
    try {
      pool.execute(() -> run(from, ctx, inv));
    } catch (RejectedExecutionException full) {
      running.remove(inv.getCallId());
      grpcContext.cancel(null);
      from.answer(CallResult.newBuilder().setCallId(inv.getCallId()).setError(RemoteError.newBuilder()
          .setType("weft.Overloaded").setMessage("every handler thread of '" + endpoint + "' is busy and its queue is full"))
          .build());
    }
  }

  private void run(Registration from, CallContext ctx, Invocation inv) {
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
    from.answer(result.build());
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

  /**
   * True once the server is closed: by {@link #close}, or when weftd refused its endpoint for good
   * (INVALID_ARGUMENT). Not while weftd is away: the server registers again when it is back.
   */
  public synchronized boolean isClosed() {
    return closed;
  }

  /** True while weftd has the endpoint registered on the current stream. */
  public synchronized boolean isRegistered() {
    return !closed && current.registered.isDone() && !current.registered.isCompletedExceptionally();
  }

  /** Unregisters the endpoint; handlers still running are cancelled; no further registration. */
  @Override
  public void close() {
    Registration r;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      r = current;
    }
    r.finish();
    shutDown();
  }

  private void shutDown() {
    cancelAll("CANCELLED");
    pool.shutdownNow();
    timers.shutdownNow();
  }
}
