package io.weft.sdk;

import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventRejection;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The background worker: drains the {@link EventBuffer} into batches on one
 * {@code ContextService.Publish} stream.
 *
 * <p>Single-writer: one thread owns the stream and all the state below the "worker only"
 * line. gRPC callbacks (acks, errors, readiness) and flush requests reach it through a
 * concurrent inbox and an unpark, never by touching that state.
 *
 * <ul>
 *   <li>Flow control: writes only while the stream {@code isReady()}; otherwise events wait
 *       in the buffer and the worker parks until the on-ready handler wakes it.
 *   <li>Acknowledgement: a batch stays in {@code unacked} until an ack's cumulative
 *       {@code last_batch_seq} covers it; only then is its room in the buffer given back.
 *   <li>Reconnect: when the stream breaks (or never starts: no daemon) the unacknowledged
 *       batches and flush tokens go back, in order, in front of anything newer and are sent
 *       again on the next stream, after a backoff doubling from the initial to the maximum
 *       delay. Resending is safe: weftd drops events whose per-object seq it has seen.
 *   <li>Idling: after a short linger the worker sleeps; producers wake it with an unpark only
 *       when it is actually asleep, so a busy application does not pay for wake-ups.
 * </ul>
 */
final class Publisher {
  private static final Logger LOG = Logger.getLogger("io.weft.sdk");
  /** A batch stops growing past this many bytes (plus one event): far below gRPC's 4 MiB. */
  static final int MAX_BATCH_BYTES = 1 << 20;
  /**
   * After sending a batch of more than one event, the worker parks this long up to {@link
   * #LINGER_ROUNDS} times for more events before it sleeps until a producer wakes it: a busy
   * application pays for no wake-ups. The rounds are few because each is a wake-up and, at a
   * moderate rate, an event waits out the round it arrives in: at 1,000 events/s, 10 rounds meant
   * 6.5 wake-ups per event and 65 µs more median latency than 3 rounds. After a single event the
   * worker sleeps at once: events come slower than it sends them, and lingering would only add
   * wake-ups while the event is on its way through weftd (at 1,000 events/s, about 3 per event).
   */
  private static final long LINGER_NS = TimeUnit.MICROSECONDS.toNanos(100);
  private static final int LINGER_ROUNDS = 3;
  /** The longest park; every interesting change unparks the worker sooner. */
  private static final long MAX_PARK_NS = TimeUnit.SECONDS.toNanos(1);

  private final EventBuffer buffer;
  private final ManagedChannel channel;
  private final ContextServiceGrpc.ContextServiceStub stub;
  private final String clientId;
  private final int maxBatchEvents;
  private final int maxEventBytes;
  private final long initialBackoffNs;
  private final long maxBackoffNs;
  private final String target;
  private final Queue<Signal> inbox = new ConcurrentLinkedQueue<>();
  private final AtomicLong flushTokens = new AtomicLong();
  private final LongAdder rejected = new LongAdder();
  private final LongAdder droppedByDaemon = new LongAdder();
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean sleeping;

  // Worker only.
  /** Whether a batch was written since the linger was last restarted. */
  private boolean sentSinceIdle;
  /** Whether the last batch taken from the buffer had more than one event: worth lingering for more. */
  private boolean lastBatchSeveral;
  private Stream stream;
  private final ArrayDeque<Outgoing> toSend = new ArrayDeque<>();
  private final ArrayDeque<Outgoing> unacked = new ArrayDeque<>();
  private long backoffNs;
  private long nextAttemptNs;
  private boolean outageLogged;

  Publisher(
      EventBuffer buffer,
      ManagedChannel channel,
      String target,
      String clientId,
      int maxBatchEvents,
      int maxEventBytes,
      Duration initialBackoff,
      Duration maxBackoff) {
    this.buffer = buffer;
    this.channel = channel;
    this.target = target;
    // The stream's callbacks only post a signal and unpark the worker, so they run on the
    // transport thread: each ack is spared a hand-off to gRPC's executor.
    this.stub = ContextServiceGrpc.newStub(channel).withExecutor(MoreExecutors.directExecutor());
    this.clientId = clientId;
    this.maxBatchEvents = maxBatchEvents;
    this.maxEventBytes = maxEventBytes;
    this.initialBackoffNs = initialBackoff.toNanos();
    this.maxBackoffNs = maxBackoff.toNanos();
    this.thread = new Thread(this::run, "weft-publisher");
    this.thread.setDaemon(true);
  }

  void start() {
    nextAttemptNs = System.nanoTime();
    thread.start();
  }

  /** Hands an event to the worker. Never blocks; drops and counts when full or closed. */
  void offer(Supplier<ContextEvent> event) {
    if (!running) {
      buffer.countDropped();
      return;
    }
    if (buffer.offer(event) && sleeping) {
      sleeping = false;
      LockSupport.unpark(thread);
    }
  }

  /**
   * Completes with true once every event offered before this call has reached every sink of
   * the daemon; with false when {@code timeout} passes first or the client closes.
   * Dependent stages run off the worker thread.
   */
  CompletableFuture<Boolean> flush(Duration timeout) {
    if (!running) {
      return CompletableFuture.completedFuture(false);
    }
    FlushMarker marker = new FlushMarker(flushTokens.incrementAndGet());
    marker.done.completeOnTimeout(false, timeout.toNanos(), TimeUnit.NANOSECONDS);
    signal(new Flush(marker));
    return marker.done.thenApplyAsync(Function.identity());
  }

  /** Stops the worker: half-closes the stream; unflushed events are abandoned. */
  void close(Duration joinTimeout) {
    running = false;
    LockSupport.unpark(thread);
    try {
      thread.join(Math.max(1, joinTimeout.toMillis()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  long rejected() {
    return rejected.sum();
  }

  long droppedByDaemon() {
    return droppedByDaemon.sum();
  }

  private void signal(Signal s) {
    inbox.add(s);
    LockSupport.unpark(thread);
  }

  // ---------------------------------------------------------------- worker thread

  private void run() {
    int idleRounds = 0;
    try {
      while (running) {
        long now = System.nanoTime();
        int work;
        try {
          work = doWork(now);
        } catch (RuntimeException e) {
          // A bug must not silently end publishing: drop the stream and start over.
          LOG.log(Level.WARNING, "weft publisher failed; reconnecting", e);
          if (stream != null) {
            stream.call.cancel("publisher failure", e);
            onBroken(stream, Status.fromThrowable(e), now);
          }
          work = 0;
        }
        if (work == 0) {
          idle(now, idleRounds++);
        } else if (sentSinceIdle) {
          // Only sending restarts the linger: an ack alone must not keep the worker awake longer.
          sentSinceIdle = false;
          idleRounds = 0;
        }
      }
    } finally {
      shutdown();
    }
  }

  private int doWork(long now) {
    int work = drainInbox(now);
    if (stream == null) {
      if (now - nextAttemptNs < 0) {
        return work;
      }
      open(now);
      work++;
    }
    return work + send();
  }

  private void idle(long now, int idleRounds) {
    if (stream == null) {
      LockSupport.parkNanos(Math.min(MAX_PARK_NS, Math.max(0, nextAttemptNs - now)));
    } else if (!stream.call.isReady()) {
      LockSupport.parkNanos(MAX_PARK_NS); // the on-ready handler unparks
    } else if (idleRounds < LINGER_ROUNDS && lastBatchSeveral) {
      LockSupport.parkNanos(LINGER_NS);
    } else {
      // Dekker with offer(): either we see the event or the producer sees `sleeping`.
      sleeping = true;
      if (buffer.isEmpty() && inbox.isEmpty() && running) {
        LockSupport.parkNanos(MAX_PARK_NS);
      }
      sleeping = false;
    }
  }

  private void open(long now) {
    channel.resetConnectBackoff(); // gRPC's own backoff would otherwise delay us up to 2 min
    stream = new Stream(now);
    stub.publish(stream);
  }

  private int send() {
    int sent = 0;
    while (stream != null && stream.call.isReady()) {
      Outgoing next = toSend.isEmpty() ? nextBatch() : toSend.pollFirst();
      if (next == null) {
        break;
      }
      if (next instanceof FlushMarker m && m.done.isDone()) {
        continue; // its caller gave up: nothing to send
      }
      unacked.addLast(next); // first: if the write fails, onBroken requeues it
      stream.write(next);
      sent++;
      sentSinceIdle = true;
    }
    return sent;
  }

  /** The next batch from the buffer, or null when it is empty. */
  private Batch nextBatch() {
    List<ContextEvent> events = null;
    int bytes = 0;
    ContextEvent e;
    while ((e = buffer.poll()) != null) {
      int size = e.getSerializedSize(); // memoized: marshalling reuses it
      if (size > maxEventBytes) {
        discardTooLarge(e, size);
        continue;
      }
      if (events == null) {
        events = new ArrayList<>(Math.min(maxBatchEvents, 64));
      }
      events.add(e);
      bytes += size;
      if (events.size() >= maxBatchEvents || bytes >= MAX_BATCH_BYTES) {
        break;
      }
    }
    if (events == null) {
      return null;
    }
    lastBatchSeveral = events.size() > 1;
    return new Batch(events);
  }

  private void discardTooLarge(ContextEvent e, int size) {
    buffer.release(1);
    rejected.increment();
    LOG.fine(() -> "weft: event " + e.getId() + " seq " + e.getSeq() + " is " + size
        + " bytes, over the limit of " + maxEventBytes + " (EVENT_TOO_LARGE); not sent");
  }

  private int drainInbox(long now) {
    int n = 0;
    Signal s;
    while ((s = inbox.poll()) != null) {
      n++;
      if (s instanceof Ack a) {
        onAck(a.stream, a.response);
      } else if (s instanceof Broken b) {
        onBroken(b.stream, b.status, now);
      } else if (s instanceof Flush f) {
        // Tokens whose callers gave up (e.g. while the daemon was away) need not wait here.
        toSend.removeIf(o -> o instanceof FlushMarker m && m.done.isDone());
        // Everything offered before the flush goes out before its token.
        for (Batch b; (b = nextBatch()) != null; ) {
          toSend.addLast(b);
        }
        toSend.addLast(f.marker);
      }
    }
    return n;
  }

  private void onAck(Stream s, PublishResponse r) {
    if (s != stream) {
      return; // late news from a stream we already gave up
    }
    if (!s.sawResponse && outageLogged) {
      LOG.info(() -> "weft: connected to weftd at " + target);
      outageLogged = false;
    }
    s.sawResponse = true;
    if (r.getRejected() > s.rejected) {
      rejected.add(r.getRejected() - s.rejected);
      s.rejected = r.getRejected();
    }
    if (r.getDropped() > s.dropped) {
      long lost = r.getDropped() - s.dropped;
      droppedByDaemon.add(lost);
      s.dropped = r.getDropped();
      LOG.fine(() -> "weft: weftd dropped " + lost + " events (its queue was full)");
    }
    for (EventRejection x : r.getRejectionsList()) {
      LOG.fine(() -> "weft: weftd rejected event " + x.getId() + " (batch " + x.getBatchSeq()
          + " #" + x.getIndex() + "): " + x.getReason() + " " + x.getDescription());
    }
    for (Iterator<Outgoing> it = unacked.iterator(); it.hasNext(); ) {
      Outgoing o = it.next();
      if (o instanceof Batch b) {
        if (b.seq > r.getLastBatchSeq()) {
          break;
        }
        it.remove();
        buffer.release(b.events.size());
      }
    }
    if (r.getFlushedToken() != 0) {
      for (Iterator<Outgoing> it = unacked.iterator(); it.hasNext(); ) {
        if (it.next() instanceof FlushMarker m && m.token == r.getFlushedToken()) {
          it.remove();
          m.done.complete(r.getFlushComplete());
          break;
        }
      }
    }
  }

  private void onBroken(Stream s, Status status, long now) {
    if (s != stream) {
      return;
    }
    stream = null;
    // Resend, in order and before anything newer, whatever was not acknowledged.
    for (Iterator<Outgoing> it = unacked.descendingIterator(); it.hasNext(); ) {
      Outgoing o = it.next();
      if (!(o instanceof FlushMarker m && m.done.isDone())) {
        toSend.addFirst(o);
      }
    }
    unacked.clear();
    boolean healthy = s.sawResponse || now - s.startedNs >= maxBackoffNs;
    backoffNs = healthy || backoffNs == 0 ? initialBackoffNs : Math.min(backoffNs * 2, maxBackoffNs);
    nextAttemptNs = now + backoffNs;
    if (!outageLogged) {
      outageLogged = true;
      LOG.info(() -> "weft: weftd at " + target + " unavailable (" + status.getCode() + ": "
          + status.getDescription() + "); buffering up to " + buffer.capacity()
          + " events and reconnecting in the background");
    } else {
      LOG.fine(() -> "weft: publish stream failed: " + status + "; retry in "
          + TimeUnit.NANOSECONDS.toMillis(backoffNs) + " ms");
    }
  }

  private void shutdown() {
    if (stream != null) {
      try {
        stream.call.onCompleted();
      } catch (RuntimeException e) {
        LOG.log(Level.FINE, "weft: half-close failed", e);
      }
      stream = null;
    }
    for (Signal s; (s = inbox.poll()) != null; ) {
      if (s instanceof Flush f) {
        f.marker.done.complete(false);
      }
    }
    for (Outgoing o : toSend) {
      if (o instanceof FlushMarker m) {
        m.done.complete(false);
      }
    }
    for (Outgoing o : unacked) {
      if (o instanceof FlushMarker m) {
        m.done.complete(false);
      }
    }
  }

  // ---------------------------------------------------------------- messages

  /** What goes out on the stream, in order: a batch of events or a flush token. */
  private sealed interface Outgoing permits Batch, FlushMarker {}

  private static final class Batch implements Outgoing {
    final List<ContextEvent> events;
    /** The batch_seq on the stream it was last sent on. */
    long seq;

    Batch(List<ContextEvent> events) {
      this.events = events;
    }
  }

  private static final class FlushMarker implements Outgoing {
    final long token;
    final CompletableFuture<Boolean> done = new CompletableFuture<>();

    FlushMarker(long token) {
      this.token = token;
    }
  }

  /** What the worker learns from other threads. */
  private sealed interface Signal permits Ack, Broken, Flush {}

  private record Ack(Stream stream, PublishResponse response) implements Signal {}

  private record Broken(Stream stream, Status status) implements Signal {}

  private record Flush(FlushMarker marker) implements Signal {}

  /** One Publish stream. Callbacks only post signals; the fields are the worker's. */
  private final class Stream implements ClientResponseObserver<PublishRequest, PublishResponse> {
    final long startedNs;
    ClientCallStreamObserver<PublishRequest> call;
    boolean helloSent;
    long batchSeq;
    long rejected;
    long dropped;
    boolean sawResponse;

    Stream(long startedNs) {
      this.startedNs = startedNs;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<PublishRequest> call) {
      this.call = call;
      call.setOnReadyHandler(() -> LockSupport.unpark(thread));
    }

    void write(Outgoing o) {
      PublishRequest.Builder req = PublishRequest.newBuilder();
      if (!helloSent) {
        req.setClientId(clientId); // read from the first message only
        helloSent = true;
      }
      if (o instanceof Batch b) {
        b.seq = ++batchSeq;
        req.setBatchSeq(b.seq).addAllEvents(b.events);
      } else {
        // Repeat the last batch_seq: a message without events must not move the ack's
        // cumulative last_batch_seq back to 0.
        req.setBatchSeq(batchSeq).setFlushToken(((FlushMarker) o).token);
      }
      call.onNext(req.build());
    }

    @Override
    public void onNext(PublishResponse response) {
      signal(new Ack(this, response));
    }

    @Override
    public void onError(Throwable t) {
      signal(new Broken(this, Status.fromThrowable(t)));
    }

    @Override
    public void onCompleted() {
      signal(new Broken(this, Status.UNAVAILABLE.withDescription("weftd ended the stream")));
    }
  }
}
