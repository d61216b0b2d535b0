package io.weft.sdk;

import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The receiving end of a channel (Mitogen's Receiver): anyone holding its {@link #handle()} — pass
 * it as a call argument — can send to it with {@link Weft#sender(String)}.
 *
 * <pre>{@code
 * try (Receiver results = weft.openReceiver()) {
 *   weft.callAsync("workers", "scan", Map.of("reply_to", results.handle()), Duration.ofMinutes(1));
 *   for (Receiver.Message m : results) {   // ends at the first end-of-channel
 *     System.out.println(m.value() + " from " + m.sender());
 *   }
 * }
 * }</pre>
 *
 * <p>Messages from one sender arrive in the order sent. A sender's {@link Sender#close()} delivers
 * end-of-channel: {@link #receive} throws {@link ChannelEndedException} once for it (receivers
 * fed by several senders count the ends), and iteration stops at it. Closing the receiver, or its
 * client going away, makes weftd fail its senders with TARGET_GONE. Thread-safe.
 */
public final class Receiver implements AutoCloseable, Iterable<Receiver.Message> {

  /** A value sent on the channel, and who sent it ({@code daemon/client}). */
  public record Message(Object value, String sender) {}

  private record End(String sender, boolean abrupt) {}

  private record Broken(WeftException why) {}

  private final String handle;
  private final Channels channels;
  private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private volatile WeftException closedBy;

  Receiver(String handle, Channels channels) {
    this.handle = handle;
    this.channels = channels;
  }

  /** The handle senders address: {@code daemon/name}, a plain string. */
  public String handle() {
    return handle;
  }

  /**
   * The next message; null when {@code timeout} passes first.
   *
   * @throws ChannelEndedException at a sender's end-of-channel (once per end)
   * @throws WeftException when the receiver is closed, or weftd closed it (its stream broke)
   */
  public Message receive(Duration timeout) throws InterruptedException {
    Object item = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    if (item == null) {
      WeftException c = closedBy;
      if (c != null) {
        throw c;
      }
      return null;
    }
    if (item instanceof Message m) {
      channels.taken(1);
      return m;
    }
    if (item instanceof End e) {
      throw new ChannelEndedException(handle, e.sender(), e.abrupt());
    }
    Broken b = (Broken) item;
    queue.add(b); // every later receive fails the same way
    throw b.why();
  }

  /**
   * The messages until the first end-of-channel; blocks for each. {@code next()} throws
   * {@link WeftException} when the receiver is closed or broken instead of ending.
   */
  @Override
  public Iterator<Message> iterator() {
    return new Iterator<>() {
      private Message next;
      private boolean ended;

      @Override
      public boolean hasNext() {
        if (next != null) {
          return true;
        }
        if (ended) {
          return false;
        }
        try {
          while (next == null) {
            next = receive(Duration.ofDays(1));
          }
          return true;
        } catch (ChannelEndedException e) {
          ended = true;
          return false;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new WeftException("CANCELLED", io.grpc.Status.CANCELLED.withDescription("interrupted"),
              java.util.Map.of(), e);
        }
      }

      @Override
      public Message next() {
        if (!hasNext()) {
          throw new NoSuchElementException("end of channel " + handle);
        }
        Message m = next;
        next = null;
        return m;
      }
    };
  }

  /** Closes the receiver: weftd forgets the handle and fails its senders. Idempotent. */
  @Override
  public void close() {
    if (closedBy != null) {
      return;
    }
    WeftException why = new WeftException("CANCELLED",
        io.grpc.Status.CANCELLED.withDescription("receiver " + handle + " is closed"), java.util.Map.of(), null);
    closedBy = why;
    channels.forget(this);
    int dropped = 0;
    for (Object item; (item = queue.poll()) != null; ) {
      if (item instanceof Message) {
        dropped++;
      }
    }
    channels.taken(dropped);
    queue.add(new Broken(why));
    try {
      channels.close(handle, false);
    } catch (WeftException e) {
      // The stream is gone or closed: weftd closed the receiver with it.
    }
  }

  void onMessage(Object value, String sender) {
    queue.add(new Message(value, sender));
  }

  void onEnd(String sender, boolean abrupt) {
    queue.add(new End(sender, abrupt));
  }

  void onBroken(WeftException why) {
    if (closedBy == null) {
      closedBy = why;
      queue.add(new Broken(why));
    }
  }

  @Override
  public String toString() {
    return "Receiver{" + handle + "}";
  }
}
