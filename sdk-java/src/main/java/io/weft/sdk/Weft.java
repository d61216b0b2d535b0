package io.weft.sdk;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.EndpointPolicy;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.ListObjectsRequest;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * The Weft client: publishes context objects to the local weftd and reads its views back.
 *
 * <pre>{@code
 * try (Weft weft = Weft.connect()) {
 *   try (Context ctx = weft.context("app.request").field("url", url).open()) {
 *     ctx.set("status", 200);
 *   }
 * }
 * }</pre>
 *
 * <p><b>Zero impact.</b> Publishing never blocks the application and never throws because
 * weftd is absent or slow. Events go to a bounded buffer ({@link Builder#bufferCapacity},
 * default 10,000 events, counting those sent but not yet acknowledged); one background
 * thread streams them in batches and reconnects with backoff; when the buffer is full the
 * newest event is dropped and counted in {@link #dropped()}. Use {@link #flush(Duration)} or
 * {@link Builder#waitOnClose(Duration)} for a clean exit.
 *
 * <p>The address follows {@code WEFT_ADDR} ({@code unix:///abs/path} or {@code host:port});
 * unset, the user socket {@code $XDG_RUNTIME_DIR/weft/weftd.sock} if it exists, then the
 * system socket {@code /run/weft/weftd.sock} if it exists, then {@code 127.0.0.1:7311}.
 *
 * <p>Thread-safe: share one client per process.
 */
public final class Weft implements AutoCloseable {
  /** Frames of these classes are skipped when deriving a routing key from the caller. */
  private static final Set<Class<?>> SDK_CLASSES = Set.of(Weft.class);

  private final String target;
  private final String clientId;
  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final EventBuffer buffer;
  private final Publisher publisher;
  private final EventSink sink;
  private final ViewServiceGrpc.ViewServiceStub views;
  private final ViewServiceGrpc.ViewServiceBlockingStub viewsBlocking;
  private final Duration waitOnClose;
  private final Duration callTimeout;
  private final Caller caller;
  private final Channels channels;
  private final Set<Server> servers = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Duration statsInterval;
  private final int statsQueueCapacity;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private volatile Stats stats;

  private Weft(Builder b) {
    if (b.channel != null) {
      this.channel = b.channel;
      this.ownsChannel = false;
      this.target = b.channel.authority();
    } else {
      DaemonAddress address =
          b.address != null ? DaemonAddress.parse(b.address) : DaemonAddress.fromEnvironment();
      this.channel = address.newChannel();
      this.ownsChannel = true;
      this.target = address.target();
    }
    this.clientId = b.clientId != null ? b.clientId : defaultClientId();
    this.buffer = new EventBuffer(b.bufferCapacity);
    this.publisher =
        new Publisher(
            buffer,
            channel,
            target,
            clientId,
            b.maxBatchEvents,
            b.maxEventBytes,
            b.initialBackoff,
            b.maxBackoff);
    this.sink = publisher::offer;
    this.views = ViewServiceGrpc.newStub(channel);
    this.viewsBlocking = ViewServiceGrpc.newBlockingStub(channel);
    this.waitOnClose = b.waitOnClose;
    this.callTimeout = b.callTimeout;
    this.statsInterval = b.statsInterval;
    this.statsQueueCapacity = b.statsQueueCapacity;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.caller = new Caller(channel, clientId);
    this.channels = new Channels(channel, clientId, callTimeout);
    publisher.start();
  }

  /** A client with every default (address from {@code WEFT_ADDR} or the default rules). */
  public static Weft connect() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Describes a new context with this routing key (dot-separated words of
   * {@code [A-Za-z0-9_-]}, at most 255 bytes; otherwise {@link WeftException}
   * INVALID_ROUTING_KEY).
   */
  public Context.Builder context(String routingKey) {
    return new Context.Builder(sink, routingKey);
  }

  /**
   * Describes a new context whose routing key is derived from the calling class, e.g.
   * {@code com.example.web.Handler} (Contexture's default name).
   */
  public Context.Builder context() {
    return new Context.Builder(sink, RoutingKeys.fromCaller(SDK_CLASSES));
  }

  /**
   * Publishes a whole object at once (Contexture's {@code push}): one TRANSIENT event.
   *
   * @return the object's id
   */
  public String push(String routingKey, Map<String, ?> fields) {
    return context(routingKey).fields(fields).publishTransient();
  }

  /**
   * Waits until every event published before this call has reached every sink of weftd.
   *
   * @return true when it did; false when {@code timeout} passed first (the daemon is absent,
   *     slow, or a sink is down) or the client is closed
   */
  public boolean flush(Duration timeout) {
    return flushAsync(timeout).join();
  }

  /** {@link #flush(Duration)} without blocking: the future completes with its result. */
  public CompletableFuture<Boolean> flushAsync(Duration timeout) {
    return publisher.flush(timeout);
  }

  /**
   * This client's statistics: {@code weft.stats().namespace("My Stuff").counter("Hits").increment()}.
   * Its worker thread starts on the first call.
   */
  public Stats stats() {
    Stats s = stats;
    if (s == null) {
      synchronized (this) {
        s = stats;
        if (s == null) {
          s = new Stats(channel, clientId, statsInterval, statsQueueCapacity, initialBackoff, maxBackoff);
          if (closed.get()) {
            s.close();
          }
          stats = s;
        }
      }
    }
    return s;
  }

  /** Events dropped by this client because its buffer was full (or it was closed). */
  public long dropped() {
    return buffer.dropped();
  }

  /**
   * Events refused as invalid: by weftd (reported in its acks, each logged at FINE on the
   * {@code io.weft.sdk} logger with its reason) or by this client (larger than
   * {@link Builder#maxEventBytes}).
   */
  public long rejected() {
    return publisher.rejected();
  }

  /**
   * Events this client holds: queued, or sent and not yet acknowledged by weftd (at most
   * {@link Builder#bufferCapacity}). Zero once everything published was acknowledged.
   */
  public int pending() {
    return buffer.held();
  }

  /** Events weftd admitted from this client but dropped because its own queue was full. */
  public long droppedByDaemon() {
    return publisher.droppedByDaemon();
  }

  /** The daemon address in use, e.g. {@code unix:///run/weft/weftd.sock}. */
  public String address() {
    return target;
  }

  /** The name this client publishes under (weftd reports its streams by it). */
  public String clientId() {
    return clientId;
  }

  /**
   * One live or finished object by id, with {@link Filter#all()}'s projection.
   *
   * @return the object, or empty when weftd knows no object with this id
   * @throws WeftException when the daemon cannot be asked (e.g. reason UNAVAILABLE)
   */
  public Optional<ContextObject> getObject(String id) {
    return getObject(id, Filter.all());
  }

  /** One object by id, reshaped by the filter's projection, from the filter's source. */
  public Optional<ContextObject> getObject(String id, Filter filter) {
    GetObjectRequest request =
        GetObjectRequest.newBuilder()
            .setId(id)
            .setProjection(filter.projection())
            .setSource(filter.source())
            .build();
    try {
      return Optional.of(blocking().getObject(request).getObject());
    } catch (StatusRuntimeException e) {
      WeftException w = WeftException.fromGrpc(e);
      if (w.status().getCode() == Status.Code.NOT_FOUND
          || w.errorReason() == ErrorReason.ERROR_REASON_UNKNOWN_OBJECT) {
        return Optional.empty();
      }
      throw w;
    }
  }

  /**
   * The objects matching a filter, live ones first, fetched page by page as the stream is
   * consumed. A failure surfaces as {@link WeftException} from this call (first page) or
   * from the stream's terminal operation (later pages).
   */
  public Stream<ContextObject> listObjects(Filter filter) {
    ListObjectsRequest first =
        ListObjectsRequest.newBuilder()
            .setFilter(filter.objectFilter())
            .setProjection(filter.projection())
            .setSource(filter.source())
            .setPageSize(filter.pageSize())
            .build();
    return Stream.iterate(
            listPage(first),
            Objects::nonNull,
            page ->
                page.getNextPageToken().isEmpty()
                    ? null
                    : listPage(first.toBuilder().setPageToken(page.getNextPageToken()).build()))
        .flatMap(page -> page.getObjectsList().stream());
  }

  /** Every matching raw event as weftd receives it (Contexture's {@code messages()}). */
  public Monitor<ContextEvent> messages(Filter filter) {
    return Monitor.watch(
        views, watchRequest(WatchMode.WATCH_MODE_MESSAGES, filter, false),
        r -> r.hasMessage() ? r.getMessage() : null);
  }

  /**
   * Every matching object when it finishes, expires or is published transient (Contexture's
   * {@code objects()}); with {@link Filter.Builder#includeLive()}, live snapshots too.
   */
  public Monitor<ContextObject> objects(Filter filter) {
    return Monitor.watch(
        views, watchRequest(WatchMode.WATCH_MODE_OBJECTS, filter, filter.includeLive()),
        r -> r.hasObject() ? r.getObject() : null);
  }

  // ---- calls (DESIGN §8) ----

  /**
   * Serves {@code endpoint} with {@code handlers} (function name → handler) until the returned
   * server is closed; only these functions can be called. Blocks until weftd accepted the
   * registration; throws {@link WeftException} when it refused (e.g. ENDPOINT_TAKEN). When weftd
   * goes away later, the server registers again once it is back (see {@link Server}).
   */
  public Server serve(String endpoint, Map<String, Handler> handlers) {
    return serve(endpoint, handlers, EndpointPolicy.getDefaultInstance(), 16);
  }

  /**
   * Serves {@code endpoint} for the callers {@code policy} allows, on {@code threads} handler
   * threads (their queue holds 1,024 invocations).
   */
  public Server serve(String endpoint, Map<String, Handler> handlers, EndpointPolicy policy,
      int threads) {
    Server s = new Server(channel, clientId, endpoint, handlers, policy, threads, 1024, initialBackoff, maxBackoff)
        .awaitRegistered(callTimeout);
    servers.add(s);
    return s;
  }

  /** Calls {@code function} of {@code target} ({@code endpoint[@daemon]}) within the call timeout. */
  public Object call(String target, String function, Object args) {
    return call(target, function, args, callTimeout);
  }

  /**
   * Calls and waits for the result. Inside a handler, the call inherits the handler's deadline and
   * cancellation. Throws {@link CallError} when the call fails.
   */
  public Object call(String target, String function, Object args, Duration timeout) {
    CompletableFuture<Object> f = callAsync(target, function, args, timeout);
    try {
      return f.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new RuntimeException(e.getCause());
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw Caller.interrupted(target, e);
    }
  }

  /**
   * Starts a call; the future completes with the result or a {@link CallError}. Cancelling the
   * future cancels the call and the remote handler.
   */
  public CompletableFuture<Object> callAsync(String target, String function, Object args, Duration timeout) {
    return caller.callAsync(target, function, args, timeout);
  }

  /**
   * Opens a channel receiver; pass its {@link Receiver#handle()} to whoever should send to it.
   * Waits (at most the call timeout) for weftd to open it; throws {@link WeftException} when
   * weftd refuses (QUEUE_FULL: channel.max-receivers) or is unavailable.
   */
  public Receiver openReceiver() {
    return channels.open();
  }

  /** A sender to the receiver {@code handle} ({@code daemon/name}), on this daemon or a peer. */
  public Sender sender(String handle) {
    return channels.sender(Objects.requireNonNull(handle, "handle"));
  }

  /** One call of {@link #inParallel}. */
  public record Call(String target, String function, Object args) {}

  /**
   * Makes every call at once and returns their results in order, or throws one {@link
   * ParallelCallError} listing each failure. Calls still running when {@code timeout} passes are
   * cancelled (and listed as DEADLINE_EXCEEDED).
   */
  public List<Object> inParallel(Duration timeout, List<Call> calls) {
    List<CompletableFuture<Object>> fs = new ArrayList<>();
    for (Call c : calls) {
      fs.add(callAsync(c.target(), c.function(), c.args(), timeout));
    }
    try {
      CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0]))
          .get(timeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(200), TimeUnit.NANOSECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // Failures are collected below; siblings still running are cancelled.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Object> results = new ArrayList<>();
    SortedMap<Integer, CallError> failures = new TreeMap<>();
    for (int i = 0; i < fs.size(); i++) {
      CompletableFuture<Object> f = fs.get(i);
      if (!f.isDone()) {
        f.cancel(true);
        failures.put(i, new CallError(calls.get(i).target(), "DEADLINE_EXCEEDED",
            io.grpc.Status.DEADLINE_EXCEEDED.withDescription("cancelled at the in_parallel deadline"),
            Map.of("scope", "call"), null));
        results.add(null);
        continue;
      }
      try {
        results.add(f.join());
      } catch (CompletionException e) {
        failures.put(i, e.getCause() instanceof CallError ce ? ce
            : CallError.of(calls.get(i).target(), WeftException.fromGrpc(e.getCause())));
        results.add(null);
      }
    }
    if (!failures.isEmpty()) {
      throw new ParallelCallError(failures, calls.size());
    }
    return results;
  }

  /**
   * Stops the background worker and closes the connection. With
   * {@link Builder#waitOnClose(Duration)} set, first flushes for at most that long; otherwise
   * events not yet delivered are abandoned. Idempotent; publishing afterwards only counts
   * drops.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (!waitOnClose.isZero()) {
      flush(waitOnClose);
    }
    Stats s;
    synchronized (this) {
      s = stats;
    }
    if (s != null) {
      s.close(waitOnClose);
    }
    publisher.close(Duration.ofSeconds(1));
    servers.forEach(Server::close);
    caller.close();
    channels.shutdown();
    if (ownsChannel) {
      channel.shutdown();
      try {
        if (!channel.awaitTermination(200, TimeUnit.MILLISECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        channel.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    return "Weft{" + target + ", client " + clientId + "}";
  }

  private ViewServiceGrpc.ViewServiceBlockingStub blocking() {
    return viewsBlocking.withDeadlineAfter(callTimeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private ListObjectsResponse listPage(ListObjectsRequest request) {
    try {
      return blocking().listObjects(request);
    } catch (StatusRuntimeException e) {
      throw WeftException.fromGrpc(e);
    }
  }

  private static WatchRequest watchRequest(WatchMode mode, Filter filter, boolean includeLive) {
    return WatchRequest.newBuilder()
        .setMode(mode)
        .setSource(filter.source())
        .setFilter(filter.objectFilter())
        .setProjection(filter.projection())
        .setIncludeLive(includeLive)
        .setBufferSize(filter.bufferSize())
        .build();
  }

  private static String defaultClientId() {
    String random = UUID.randomUUID().toString().substring(0, 8);
    return "java-" + ProcessHandle.current().pid() + "-" + random;
  }

  /** Configures a {@link Weft} client. Every option has a default. */
  public static final class Builder {
    private String address;
    private ManagedChannel channel;
    private int bufferCapacity = 10_000;
    private int maxBatchEvents = 512;
    private int maxEventBytes = 1 << 20;
    private String clientId;
    private Duration waitOnClose = Duration.ZERO;
    private Duration initialBackoff = Duration.ofMillis(50);
    private Duration maxBackoff = Duration.ofSeconds(5);
    private Duration callTimeout = Duration.ofSeconds(10);
    private Duration statsInterval = Duration.ofMillis(100);
    private int statsQueueCapacity = 10_000;

    private Builder() {}

    /** The daemon address, {@code unix:///abs/path} or {@code host:port}, instead of the rules. */
    public Builder address(String value) {
      this.address = Objects.requireNonNull(value, "address");
      return this;
    }

    /**
     * A channel of the caller's (e.g. with TLS or an in-process transport) instead of an
     * address. The client does not shut it down.
     */
    public Builder channel(ManagedChannel value) {
      this.channel = Objects.requireNonNull(value, "channel");
      return this;
    }

    /** Events the client holds at most, queued or awaiting acknowledgement (default 10,000). */
    public Builder bufferCapacity(int events) {
      this.bufferCapacity = positive(events, "bufferCapacity");
      return this;
    }

    /** Events per batch on the stream at most (default 512). */
    public Builder maxBatchEvents(int events) {
      this.maxBatchEvents = positive(events, "maxBatchEvents");
      return this;
    }

    /**
     * Serialized size above which an event is not sent but counted in {@link Weft#rejected()}
     * (default 1 MiB, weftd's default limit).
     */
    public Builder maxEventBytes(int bytes) {
      this.maxEventBytes = positive(bytes, "maxEventBytes");
      return this;
    }

    /**
     * The name weftd knows this client by: 1 to 128 bytes without control characters (else
     * {@link WeftException} INVALID_ARGUMENT); default {@code java-<pid>-<random>}.
     */
    public Builder clientId(String value) {
      if (!Context.isValidId(value)) {
        throw WeftException.invalid(
            ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
            "client id must be 1 to 128 bytes without control characters: '" + value + "'");
      }
      this.clientId = value;
      return this;
    }

    /** On {@link Weft#close()}, flush for at most this long first (default zero: no wait). */
    public Builder waitOnClose(Duration timeout) {
      this.waitOnClose = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /** Reconnect delay: starts at {@code initial}, doubles per failure up to {@code max}. */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      this.initialBackoff = Objects.requireNonNull(initial, "initial");
      this.maxBackoff = Objects.requireNonNull(max, "max");
      return this;
    }

    /** How often statistics are sent to weftd (default 100 ms); increments between two sends cost one op. */
    public Builder statsInterval(Duration interval) {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("statsInterval must be positive");
      }
      this.statsInterval = interval;
      return this;
    }

    /** Structural stats ops (put, append, remove, derive) queued at most (default 10,000). */
    public Builder statsQueueCapacity(int ops) {
      this.statsQueueCapacity = positive(ops, "statsQueueCapacity");
      return this;
    }

    /** Deadline of {@link Weft#getObject} and each {@link Weft#listObjects} page (default 10 s). */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /**
     * Creates the client and starts its worker. Succeeds whether or not weftd is running;
     * throws {@link WeftException} INVALID_ARGUMENT only for a malformed address.
     */
    public Weft build() {
      return new Weft(this);
    }

    private static int positive(int value, String name) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " must be positive: " + value);
      }
      return value;
    }
  }
}
