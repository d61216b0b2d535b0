package io.weft.sdk;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sending end of a channel (Mitogen's Sender), made by {@link Weft#sender(String)} from a
 * receiver's handle.
 *
 * <pre>{@code
 * try (Sender out = weft.sender(handle)) {
 *   out.send(Map.of("row", 1));
 * }   // the receiver sees end-of-channel
 * }</pre>
 *
 * <p>{@link #send} does not wait for delivery. When weftd reports that the receiver is gone (or
 * unreachable) every later send throws that {@link WeftException} (TARGET_GONE, NO_ROUTE); a
 * message weftd could not queue (the receiver's queue full, QUEUE_FULL) is counted in
 * {@link #undelivered()}. Senders to one handle from one client share these reports. Thread-safe.
 */
public final class Sender implements AutoCloseable {

  private final String handle;
  private final Channels channels;
  private final AtomicLong undelivered = new AtomicLong();
  private volatile WeftException failure;
  private volatile boolean closed;
  /** The stream of the last send: when it ended, weftd ended this side of the channel (abrupt). */
  private volatile Object sentOn;

  Sender(String handle, Channels channels) {
    this.handle = handle;
    this.channels = channels;
  }

  /** The receiver's handle. */
  public String handle() {
    return handle;
  }

  /**
   * Sends a JSON value (as for context fields). Throws {@link WeftException}: NOT_JSON or TOO_DEEP
   * (nothing sent), the receiver's failure once weftd reported it, or CANCELLED after close.
   */
  public void send(Object value) {
    WeftException f = failure;
    if (f != null) {
      throw f;
    }
    if (closed) {
      throw new WeftException("CANCELLED", io.grpc.Status.CANCELLED.withDescription("sender to " + handle
          + " is closed"), java.util.Map.of(), null);
    }
    sentOn = channels.send(handle, Values.toValue(value));
  }

  /** Messages weftd could not deliver (QUEUE_FULL) so far. */
  public long undelivered() {
    return undelivered.get();
  }

  /** Why sending to the receiver can no longer succeed, once weftd said so. */
  public Optional<WeftException> failure() {
    return Optional.ofNullable(failure);
  }

  /** Ends this side of the channel: the receiver gets end-of-channel. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    channels.forget(this);
    Object last = sentOn;
    if (failure == null && (last == null || !channels.brokeSince(last))) {
      try {
        channels.close(handle, true);
      } catch (WeftException e) {
        // The stream is gone or the client closed: weftd ended the channel with it (abrupt).
      }
    }
  }

  void onFailed(WeftException why, boolean permanent, long count) {
    if (permanent) {
      failure = why;
    } else {
      undelivered.addAndGet(count);
    }
  }

  @Override
  public String toString() {
    return "Sender{" + handle + "}";
  }
}
