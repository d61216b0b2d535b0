package io.weft.sdk;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchRequest;
import io.weft.api.v1.WatchResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A live feed from weftd's {@code ViewService.Watch}: raw events ({@link Weft#messages}) or
 * collated objects ({@link Weft#objects}), as Contexture's monitor iterators.
 *
 * <pre>{@code
 * try (Monitor<ContextObject> objects = weft.objects(Filter.builder().routingKeys("app.#").build())) {
 *   while (objects.hasNext()) {
 *     ContextObject o = objects.next();
 *   }
 * }
 * }</pre>
 *
 * <p>{@link #hasNext()} and {@link #next()} block until an item arrives or the feed ends;
 * {@link #poll(Duration)} waits at most a given time. A feed ends when the daemon ends it or
 * on {@link #close()} (from any thread, e.g. to stop a consumer blocked in {@code next()}).
 * A failure (daemon absent, invalid filter, daemon shutting down) is thrown as a
 * {@link WeftException} from the consuming call.
 *
 * <p>Flow control reaches the daemon: the monitor asks for a few hundred items ahead of the
 * consumer and no more, so a slow consumer makes weftd drop the oldest items for it. Those
 * losses are not returned as items; they are counted in {@link #lagged()}.
 *
 * <p>Consume from one thread at a time.
 *
 * @param <T> {@link io.weft.api.v1.ContextEvent} or {@link io.weft.api.v1.ContextObject}
 */
public final class Monitor<T> implements Iterator<T>, AutoCloseable {
  /** Items requested ahead of the consumer. */
  private static final int PREFETCH = 256;
  private static final Object END = new Object();

  private final BlockingQueue<Object> items = new LinkedBlockingQueue<>();
  private final AtomicLong lagged = new AtomicLong();
  private final io.grpc.Context.CancellableContext scope =
      io.grpc.Context.current().withCancellation();
  private final Function<WatchResponse, T> extract;
  private volatile ClientCallStreamObserver<WatchRequest> call;
  private volatile boolean closed;
  // Consumer only.
  private T next;
  private boolean ended;

  private Monitor(Function<WatchResponse, T> extract) {
    this.extract = extract;
  }

  /** Starts a watch; {@code extract} picks the item out of a response (null: not one). */
  static <T> Monitor<T> watch(
      ViewServiceGrpc.ViewServiceStub stub,
      WatchRequest request,
      Function<WatchResponse, T> extract) {
    Monitor<T> monitor = new Monitor<>(extract);
    // Running the call in a cancellable gRPC context lets close() cancel it from any thread.
    monitor.scope.run(() -> stub.watch(request, monitor.new Feed()));
    return monitor;
  }

  /** Blocks until an item is available (true) or the feed has ended (false). */
  @Override
  public boolean hasNext() {
    if (closed) {
      ended = true;
      next = null;
    }
    if (next != null) {
      return true;
    }
    if (ended) {
      return false;
    }
    try {
      return accept(items.take());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw interrupted(e);
    }
  }

  /** The next item, blocking until one arrives; NoSuchElementException once the feed ended. */
  @Override
  public T next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the monitor has ended");
    }
    return take();
  }

  /** The next item, or null when none arrives within {@code timeout} or the feed has ended. */
  public T poll(Duration timeout) {
    if (closed) {
      return null;
    }
    if (next == null && !ended) {
      try {
        Object o = items.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (o == null) {
          return null;
        }
        accept(o);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw interrupted(e);
      }
    }
    return next == null ? null : take();
  }

  /** Items the daemon dropped for this monitor because it fell behind. */
  public long lagged() {
    return lagged.get();
  }

  /**
   * Ends the feed and cancels the watch: no item is returned afterwards, and a consumer
   * blocked in {@link #hasNext()} or {@link #next()} returns. Safe from any thread; idempotent.
   */
  @Override
  public void close() {
    closed = true;
    scope.cancel(null);
    items.add(END);
  }

  @SuppressWarnings("unchecked")
  private boolean accept(Object o) {
    if (o == END) {
      ended = true;
      return false;
    }
    if (o instanceof WeftException e) {
      ended = true;
      throw e;
    }
    next = (T) o;
    return true;
  }

  private T take() {
    T item = next;
    next = null;
    call.request(1);
    return item;
  }

  private static WeftException interrupted(InterruptedException e) {
    return new WeftException(
        "CANCELLED", io.grpc.Status.CANCELLED.withDescription("interrupted"), Map.of(), e);
  }

  /** The gRPC side: runs on gRPC threads and only hands items to the queue. */
  private final class Feed implements ClientResponseObserver<WatchRequest, WatchResponse> {
    @Override
    public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
      call = requestStream;
      requestStream.disableAutoRequestWithInitial(PREFETCH);
    }

    @Override
    public void onNext(WatchResponse response) {
      T item = response.hasLagged() ? null : extract.apply(response);
      if (item == null) {
        lagged.addAndGet(response.getLagged().getDropped());
        call.request(1); // a marker is not an item: keep the window full
      } else {
        items.add(item);
      }
    }

    @Override
    public void onError(Throwable t) {
      items.add(closed ? END : WeftException.fromGrpc(t));
    }

    @Override
    public void onCompleted() {
      items.add(END);
    }
  }
}
