package io.weft.sdk;

import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.weft.api.v1.OpRejection;
import io.weft.api.v1.RecordRequest;
import io.weft.api.v1.RecordResponse;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsServiceGrpc;
import io.weft.api.v1.WatchEnabledRequest;
import io.weft.api.v1.WatchEnabledResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Statistics of this client (DESIGN §7), from {@link Weft#stats()}: namespaces of counters,
 * scalars, collections and derived values that weftd keeps and reports ({@code StatsService},
 * {@code /stats.json}, {@code /metrics}, the dashboard).
 *
 * <p>One background thread ("weft-stats") sends what changed every {@link
 * Weft.Builder#statsInterval} in batches on one {@code StatsService.Record} stream, only while the
 * stream is ready, and follows {@code WatchEnabled} so that switched-off namespaces cost nothing.
 * Bounded: structural ops wait in a queue of {@link Weft.Builder#statsQueueCapacity} (the newest
 * are dropped when it is full, counted in {@link #dropped()}); batches sent and not yet
 * acknowledged are at most {@value #MAX_UNACKED}. When the stream breaks, unacknowledged batches
 * are counted as dropped (weftd may or may not have applied them) and the worker reconnects with
 * backoff.
 */
public final class Stats implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger("io.weft.sdk");
  /** Ops per Record message at most. */
  static final int MAX_BATCH_OPS = 4096;
  /** Batches sent and not yet acknowledged at most. */
  static final int MAX_UNACKED = 64;

  private final StatsServiceGrpc.StatsServiceStub stub;
  private final String clientId;
  private final long intervalNs;
  private final long initialBackoffNs;
  private final long maxBackoffNs;
  private final ConcurrentHashMap<String, StatsNamespace> namespaces = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Boolean> switches = new ConcurrentHashMap<>();
  private final ArrayBlockingQueue<StatsOp> queue;
  private final Queue<CompletableFuture<Boolean>> flushes = new ConcurrentLinkedQueue<>();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final LongAdder sentOps = new LongAdder();
  private final Thread thread;
  private volatile boolean running = true;
  private volatile long ackedSeq;
  private volatile boolean streamBroken;
  private volatile boolean watchBroken = true;
  private volatile ClientCallStreamObserver<WatchEnabledRequest> watchCall;

  // Worker only.
  private ClientCallStreamObserver<RecordRequest> stream;
  private final ArrayDeque<Sent> unacked = new ArrayDeque<>();

  /** A batch sent and not yet acknowledged. */
  private record Sent(long batchSeq, int ops) {}
  private final ArrayList<StatsOp> pending = new ArrayList<>();
  /**
   * Held while structural ops are queued and while the worker collects: without it, a scalar change
   * made after a queued {@code remove} could be collected (from its cell) before the remove (from the
   * queue) and be lost. Taken before any cell's lock, never the other way round.
   */
  final Object order = new Object();
  private long seq;
  private long backoffNs;
  private long retryAtNs;
  private final ArrayList<WaitingFlush> waitingFlushes = new ArrayList<>();

  /** A flush that completes once weftd acknowledges batch {@code targetSeq}. */
  private record WaitingFlush(CompletableFuture<Boolean> future, long targetSeq) {}

  Stats(ManagedChannel channel, String clientId, Duration interval, int queueCapacity, Duration initialBackoff,
      Duration maxBackoff) {
    this.stub = StatsServiceGrpc.newStub(channel);
    this.clientId = clientId;
    this.intervalNs = interval.toNanos();
    this.queue = new ArrayBlockingQueue<>(queueCapacity);
    this.initialBackoffNs = initialBackoff.toNanos();
    this.maxBackoffNs = maxBackoff.toNanos();
    this.backoffNs = initialBackoffNs;
    this.thread = new Thread(this::run, "weft-stats");
    thread.setDaemon(true);
    thread.start();
  }

  /** The namespace {@code name} (1 to 200 bytes without control characters), created on first use. */
  public StatsNamespace namespace(String name) {
    StatsNamespace ns = namespaces.get(name);
    if (ns != null) {
      return ns;
    }
    if (!Context.isValidId(name) || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 200) {
      throw WeftException.invalid(io.weft.api.v1.ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
          "a namespace name is 1 to 200 bytes without control characters: '" + name + "'");
    }
    return namespaces.computeIfAbsent(name, n -> {
      StatsNamespace created = new StatsNamespace(this, n);
      created.enabled(switches.getOrDefault(n, true));
      return created;
    });
  }

  /**
   * Sends everything recorded before this call and waits until weftd has applied it.
   *
   * @return false when {@code timeout} passed first (weftd absent or slow) or the client is closed
   */
  public boolean flush(Duration timeout) {
    return flushAsync(timeout).join();
  }

  /** {@link #flush(Duration)} without blocking. */
  public CompletableFuture<Boolean> flushAsync(Duration timeout) {
    CompletableFuture<Boolean> f = new CompletableFuture<>();
    if (!running) {
      f.complete(false);
      return f;
    }
    flushes.add(f);
    LockSupport.unpark(thread);
    return f.completeOnTimeout(false, timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Ops lost: the queue was full, the client closed, or the stream broke before weftd acknowledged them. */
  public long dropped() {
    return dropped.sum();
  }

  /** Ops weftd refused (bad expression, conflict, bound reached, invalid), each logged at FINE. */
  public long rejected() {
    return rejected.sum();
  }

  /** Ops sent to weftd so far (after coalescing). */
  public long sent() {
    return sentOps.sum();
  }

  void enqueue(StatsOp op) {
    if (!running || !queue.offer(op)) {
      dropped.increment();
    } else if (queue.size() >= MAX_BATCH_OPS) {
      LockSupport.unpark(thread);
    }
  }

  /** Stops the worker after one last send; what is not acknowledged within {@code wait} is abandoned. */
  void close(Duration wait) {
    if (!running) {
      return;
    }
    if (!wait.isZero()) {
      flush(wait);
    }
    running = false;
    LockSupport.unpark(thread);
    try {
      thread.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    close(Duration.ZERO);
  }

  // ---- worker ----

  private void run() {
    while (running) {
      long now = System.nanoTime();
      try {
        if (watchBroken && now - retryAtNs >= 0) {
          startWatch();
        }
        if (streamBroken) {
          onBroken();
        }
        if (stream == null && now - retryAtNs >= 0) {
          openStream();
        } else if (stream != null && ackedSeq > 0) {
          backoffNs = initialBackoffNs;
        }
        boolean flushing = !flushes.isEmpty();
        collect();
        send();
        if (flushing) {
          takeFlushes();
        }
        completeFlushes();
      } catch (RuntimeException e) {
        LOG.log(Level.FINE, "weft stats worker: " + e, e);
        streamBroken = true;
      }
      LockSupport.parkNanos(intervalNs);
    }
    for (CompletableFuture<Boolean> f : flushes) {
      f.complete(false);
    }
    for (WaitingFlush w : waitingFlushes) {
      w.future().complete(false);
    }
    dropped.add(queue.size() + pending.size());
    if (stream != null) {
      stream.onCompleted();
    }
    ClientCallStreamObserver<WatchEnabledRequest> w = watchCall;
    if (w != null) {
      w.cancel("client closed", null);
    }
  }

  /**
   * Moves queued ops, then each namespace's coalesced scalars, into {@code pending}, under {@link
   * #order}: a scalar change made before a queued op of its namespace was queued ahead of it, and
   * one made after it stays in its cell until this runs, so each namespace's order is kept.
   */
  private void collect() {
    if (pending.size() >= MAX_BATCH_OPS * 4) {
      return;
    }
    synchronized (order) {
      queue.drainTo(pending);
      for (StatsNamespace ns : namespaces.values()) {
        ns.drainCells(pending::add);
      }
    }
  }

  private void send() {
    if (stream == null) {
      return;
    }
    int from = 0;
    while (from < pending.size() && stream.isReady() && unacked.size() < MAX_UNACKED) {
      int to = Math.min(pending.size(), from + MAX_BATCH_OPS);
      RecordRequest.Builder req = RecordRequest.newBuilder().setBatchSeq(++seq).addAllOps(pending.subList(from, to));
      if (seq == 1) {
        req.setClientId(clientId);
      }
      stream.onNext(req.build());
      unacked.addLast(new Sent(seq, to - from));
      sentOps.add(to - from);
      from = to;
    }
    pending.subList(0, from).clear();
  }

  /** A flush waits for everything collected so far: the batches just sent and what is still pending. */
  private void takeFlushes() {
    long target = seq + (pending.isEmpty() ? 0 : (pending.size() + MAX_BATCH_OPS - 1) / MAX_BATCH_OPS);
    CompletableFuture<Boolean> f;
    while ((f = flushes.poll()) != null) {
      waitingFlushes.add(new WaitingFlush(f, target));
    }
  }

  private void completeFlushes() {
    long acked = ackedSeq;
    while (!unacked.isEmpty() && unacked.peekFirst().batchSeq() <= acked) {
      unacked.pollFirst();
    }
    for (Iterator<WaitingFlush> it = waitingFlushes.iterator(); it.hasNext(); ) {
      WaitingFlush w = it.next();
      if (w.future().isDone()) {
        it.remove();
      } else if (w.targetSeq() <= acked) {
        w.future().complete(true);
        it.remove();
      }
    }
  }

  private void openStream() {
    streamBroken = false;
    ackedSeq = 0;
    seq = 0;
    stream = (ClientCallStreamObserver<RecordRequest>) stub.record(new ClientResponseObserver<RecordRequest, RecordResponse>() {
      /** The cumulative counts of the previous ack, to add only what is new. */
      private long seenRejected;
      private long seenDropped;

      @Override
      public void beforeStart(ClientCallStreamObserver<RecordRequest> s) {
        s.setOnReadyHandler(() -> LockSupport.unpark(thread));
      }

      @Override
      public void onNext(RecordResponse r) {
        for (OpRejection rej : r.getRejectionsList()) {
          LOG.fine("weft stats op refused by weftd: " + rej.getReason() + ": " + rej.getDescription());
        }
        rejected.add(r.getRejected() - seenRejected);
        seenRejected = r.getRejected();
        dropped.add(r.getDropped() - seenDropped);
        seenDropped = r.getDropped();
        ackedSeq = r.getLastBatchSeq();
        LockSupport.unpark(thread);
      }

      @Override
      public void onError(Throwable t) {
        LOG.fine("weft stats stream ended: " + t);
        streamBroken = true;
        LockSupport.unpark(thread);
      }

      @Override
      public void onCompleted() {
        streamBroken = true;
        LockSupport.unpark(thread);
      }
    });
  }

  /**
   * The stream broke: what it did not acknowledge is counted as lost. Waiting flushes fail when
   * something was lost (it can never be applied); otherwise they wait again, for the next stream
   * (whose batch numbers start again).
   */
  private void onBroken() {
    long acked = ackedSeq;
    long lost = 0;
    for (Sent b : unacked) {
      if (b.batchSeq() > acked) {
        lost += b.ops();
      }
    }
    dropped.add(lost);
    unacked.clear();
    for (WaitingFlush w : waitingFlushes) {
      if (lost > 0) {
        w.future().complete(false);
      } else {
        flushes.add(w.future());
      }
    }
    waitingFlushes.clear();
    if (stream != null) {
      stream.cancel("reconnecting", null);
      stream = null;
    }
    streamBroken = false;
    retryAtNs = System.nanoTime() + backoffNs;
    backoffNs = Math.min(maxBackoffNs, backoffNs * 2);
  }

  /**
   * Follows every namespace's switch. A (re)started watch first sends every switch the daemon
   * knows; namespaces it does not know (a restarted daemon) collect again.
   */
  private void startWatch() {
    watchBroken = false;
    switches.clear();
    for (StatsNamespace ns : namespaces.values()) {
      ns.enabled(true);
    }
    stub.watchEnabled(WatchEnabledRequest.getDefaultInstance(),
        new ClientResponseObserver<WatchEnabledRequest, WatchEnabledResponse>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<WatchEnabledRequest> call) {
        watchCall = call;
      }

      @Override
      public void onNext(WatchEnabledResponse r) {
        switches.put(r.getNamespace(), r.getEnabled());
        StatsNamespace ns = namespaces.get(r.getNamespace());
        if (ns != null) {
          ns.enabled(r.getEnabled());
        }
      }

      @Override
      public void onError(Throwable t) {
        watchBroken = true;
      }

      @Override
      public void onCompleted() {
        watchBroken = true;
      }
    });
  }
}
