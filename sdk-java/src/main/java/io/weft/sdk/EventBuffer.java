package io.weft.sdk;

import io.weft.api.v1.ContextEvent;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.jctools.queues.MpscArrayQueue;

/**
 * The bounded buffer between application threads and the publisher worker.
 *
 * <p>The bound covers every event the SDK holds: those queued here <em>and</em> those the
 * worker has sent but the daemon has not acknowledged yet (kept for resending after a
 * reconnect). So memory stays bounded by {@code capacity} events however long the daemon
 * is away. When the bound is reached the newest event is dropped and counted — the
 * application is never blocked.
 *
 * <p>{@link #offer} is lock-free (one atomic increment plus the MPSC queue's CAS) and
 * safe from any thread; {@link #poll} and {@link #release} belong to the worker.
 */
final class EventBuffer {
  private final int capacity;
  private final MpscArrayQueue<ContextEvent> queue;
  private final AtomicInteger held = new AtomicInteger();
  private final LongAdder dropped = new LongAdder();

  EventBuffer(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("buffer capacity must be at least 1: " + capacity);
    }
    this.capacity = capacity;
    // MpscArrayQueue rounds up to a power of two; `held` enforces the exact bound.
    this.queue = new MpscArrayQueue<>(capacity);
  }

  /**
   * Queues the event, or drops and counts it when the SDK already holds {@code capacity}.
   * The supplier is called only when there is room, so a dropped event costs no building.
   */
  boolean offer(Supplier<ContextEvent> event) {
    if (held.incrementAndGet() > capacity) {
      held.decrementAndGet();
      dropped.increment();
      return false;
    }
    ContextEvent built;
    try {
      built = event.get();
    } catch (RuntimeException e) {
      held.decrementAndGet();
      throw e;
    }
    if (!queue.offer(built)) { // cannot happen while held <= capacity <= queue capacity
      held.decrementAndGet();
      dropped.increment();
      return false;
    }
    return true;
  }

  /** Counts an event dropped without being offered (e.g. published after close). */
  void countDropped() {
    dropped.increment();
  }

  /** The next queued event, or null. Worker only. */
  ContextEvent poll() {
    return queue.relaxedPoll();
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  /** Gives back room for {@code events} that left the SDK (acknowledged or discarded). */
  void release(int events) {
    held.addAndGet(-events);
  }

  /** Events held: queued plus sent and not acknowledged. */
  int held() {
    return held.get();
  }

  int capacity() {
    return capacity;
  }

  /** Events dropped because the buffer was full (or the client closed). */
  long dropped() {
    return dropped.sum();
  }
}
