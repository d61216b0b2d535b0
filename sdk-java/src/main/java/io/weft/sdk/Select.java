package io.weft.sdk;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Futures in the order they complete (Mitogen's {@code Select}): {@link #first} is the first to
 * complete, {@link #next} the next one, {@link #all} every one in arrival order.
 *
 * @param <T> the futures' value type
 */
public final class Select<T> {

  private final LinkedBlockingQueue<CompletableFuture<T>> arrived = new LinkedBlockingQueue<>();
  private int left;

  private Select(Collection<CompletableFuture<T>> futures) {
    this.left = futures.size();
    for (CompletableFuture<T> f : futures) {
      f.whenComplete((v, t) -> arrived.add(f));
    }
  }

  /** Selects over {@code futures}. */
  public static <T> Select<T> of(Collection<CompletableFuture<T>> futures) {
    return new Select<>(futures);
  }

  /**
   * The next future to complete, or null when every one was returned already.
   *
   * @throws WeftException DEADLINE_EXCEEDED when none completes within {@code timeout}
   */
  public synchronized CompletableFuture<T> next(Duration timeout) {
    if (left == 0) {
      return null;
    }
    try {
      CompletableFuture<T> f = arrived.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      if (f == null) {
        throw new WeftException("DEADLINE_EXCEEDED", io.grpc.Status.DEADLINE_EXCEEDED
            .withDescription("no future completed within " + timeout), Map.of(), null);
      }
      left--;
      return f;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WeftException("CANCELLED", io.grpc.Status.CANCELLED, Map.of(), e);
    }
  }

  /**
   * The value of the first future to complete; its failure (a {@link CallError} for calls) is thrown.
   */
  public T first(Duration timeout) {
    CompletableFuture<T> f = next(timeout);
    if (f == null) {
      throw new IllegalStateException("every future was selected already");
    }
    try {
      return f.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  /** Every remaining future, in the order they complete, waiting at most {@code timeout} in all. */
  public List<CompletableFuture<T>> all(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<CompletableFuture<T>> out = new ArrayList<>();
    for (CompletableFuture<T> f; (f = next(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) != null; ) {
      out.add(f);
    }
    return out;
  }
}
