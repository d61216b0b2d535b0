package io.weft.sdk;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.ChannelFailed;
import io.weft.api.v1.ChannelRequest;
import io.weft.api.v1.ChannelResponse;
import io.weft.api.v1.CloseChannel;
import io.weft.api.v1.OpenReceiver;
import io.weft.api.v1.ReceiverOpened;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One {@code CallService.Channel} stream for all of a client's receivers and senders, opened on
 * first use and again after it breaks. Receivers live as long as the stream: when it breaks they
 * end (weftd closed them and failed their senders); senders go on over the next stream.
 *
 * <p>Inbound flow control: the stream asks weftd for one more message only while the receivers
 * hold fewer than {@link #MAX_BUFFERED} messages together, so a slow reader makes weftd's queue
 * for this client fill, and its senders are told QUEUE_FULL, instead of this process's memory.
 */
final class Channels {

  static final int MAX_BUFFERED = 1024;
  private static final Metadata.Key<String> CLIENT_ID =
      Metadata.Key.of("weft-client-id", Metadata.ASCII_STRING_MARSHALLER);

  private final CallServiceGrpc.CallServiceStub stub;
  private final Duration timeout;
  private final AtomicLong refs = new AtomicLong();
  private final AtomicLong seqs = new AtomicLong();
  private final Map<Long, CompletableFuture<String>> opening = new ConcurrentHashMap<>();
  private final Map<String, Receiver> receivers = new ConcurrentHashMap<>();
  private final Set<Sender> senders = ConcurrentHashMap.newKeySet();
  private Stream stream; // guarded by this
  private int buffered; // guarded by this
  private boolean owed; // guarded by this: a request(1) held back while MAX_BUFFERED were buffered
  private boolean closed; // guarded by this

  Channels(ManagedChannel channel, String clientId, Duration timeout) {
    Metadata h = new Metadata();
    h.put(CLIENT_ID, clientId);
    this.stub = CallServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h));
    this.timeout = timeout;
  }

  Receiver open() {
    long ref = refs.incrementAndGet();
    CompletableFuture<String> opened = new CompletableFuture<>();
    opening.put(ref, opened);
    write(ChannelRequest.newBuilder().setOpen(OpenReceiver.newBuilder().setRef(ref)).build());
    try {
      String handle = opened.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return receivers.computeIfAbsent(handle, h -> new Receiver(h, this));
    } catch (ExecutionException e) {
      throw e.getCause() instanceof WeftException w ? w : WeftException.fromGrpc(e.getCause());
    } catch (TimeoutException e) {
      throw new WeftException("DEADLINE_EXCEEDED",
          Status.DEADLINE_EXCEEDED.withDescription("weftd did not open a receiver within " + timeout), Map.of(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WeftException("CANCELLED", Status.CANCELLED.withDescription("interrupted"), Map.of(), e);
    } finally {
      opening.remove(ref);
    }
  }

  Sender sender(String handle) {
    Sender s = new Sender(handle, this);
    senders.add(s);
    return s;
  }

  /** Sends; returns the stream it went out on (see {@link #brokeSince}). */
  Object send(String handle, com.google.protobuf.Value value) {
    return write(ChannelRequest.newBuilder().setSend(io.weft.api.v1.ChannelSend.newBuilder().setHandle(handle)
        .setValue(value).setSeq(seqs.incrementAndGet())).build());
  }

  /** True when {@code stream} (as {@link #send} returned it) has ended: weftd ended its channels then. */
  boolean brokeSince(Object stream) {
    return ((Stream) stream).done;
  }

  /** Closes a receiver this client holds, or ({@code asSender}) ends a sender's side of a channel. */
  void close(String handle, boolean asSender) {
    write(ChannelRequest.newBuilder().setClose(CloseChannel.newBuilder().setHandle(handle).setSender(asSender))
        .build());
  }

  void forget(Receiver r) {
    receivers.remove(r.handle(), r);
  }

  void forget(Sender s) {
    senders.remove(s);
  }

  /** A receiver took (or dropped, closing) {@code n} messages: maybe ask weftd for the next. */
  synchronized void taken(int n) {
    buffered = Math.max(0, buffered - n);
    if (owed && buffered < MAX_BUFFERED && stream != null) {
      owed = false;
      stream.call.request(1);
    }
  }

  /** Stops: the stream ends, so weftd closes the receivers and ends the channels sent on. */
  void shutdown() {
    Stream s;
    synchronized (this) {
      closed = true;
      s = stream;
      stream = null;
    }
    if (s != null) {
      s.call.onCompleted();
    }
    broken(s, new WeftException("CANCELLED", Status.CANCELLED.withDescription("the client closed"), Map.of(), null));
  }

  /**
   * Writes on the stream, opening one if needed. Waits up to the timeout while the stream is not
   * ready (a sender outrunning weftd is slowed down, not buffered without bound).
   */
  private Stream write(ChannelRequest req) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      if (closed) {
        throw new WeftException("CANCELLED", Status.CANCELLED.withDescription("the client is closed"), Map.of(), null);
      }
      if (stream == null) {
        stream = new Stream();
        stub.channel(stream);
      }
      Stream s = stream;
      while (!s.call.isReady() && !s.done) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new WeftException("QUEUE_FULL", Status.RESOURCE_EXHAUSTED.withDescription(
              "weftd took no channel request for " + timeout + "; nothing was sent"), Map.of(), null);
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new WeftException("CANCELLED", Status.CANCELLED.withDescription("interrupted"), Map.of(), e);
        }
      }
      s.call.onNext(req);
      return s;
    }
  }

  private void onResponse(ChannelResponse r) {
    switch (r.getMsgCase()) {
      case OPENED -> {
        ReceiverOpened o = r.getOpened();
        CompletableFuture<String> f = opening.get(o.getRef());
        if (f != null) {
          if (o.hasError()) {
            f.completeExceptionally(toException(o.getError()));
          } else {
            f.complete(o.getHandle());
          }
        }
      }
      case MESSAGE -> {
        Receiver rc = receivers.get(r.getMessage().getHandle());
        if (rc != null) {
          synchronized (this) {
            buffered++;
          }
          rc.onMessage(Values.fromValue(r.getMessage().getValue()), r.getMessage().getSender());
        }
      }
      case END -> {
        Receiver rc = receivers.get(r.getEnd().getHandle());
        if (rc != null) {
          rc.onEnd(r.getEnd().getSender(), r.getEnd().getAbrupt());
        }
      }
      case FAILED -> {
        ChannelFailed f = r.getFailed();
        WeftException e = toException(f.getError());
        for (Sender s : senders) {
          if (s.handle().equals(f.getHandle())) {
            s.onFailed(e, f.getClosed(), Math.max(1, f.getCount()));
          }
        }
      }
      default -> { }
    }
  }

  /** Asks for the next message unless the receivers hold MAX_BUFFERED. */
  private synchronized void requestNext(Stream s) {
    if (s != stream) {
      return;
    }
    if (buffered < MAX_BUFFERED) {
      s.call.request(1);
    } else {
      owed = true;
    }
  }

  private void broken(Stream s, WeftException why) {
    synchronized (this) {
      if (s != null && stream == s) {
        stream = null;
      }
      buffered = 0;
      owed = false;
      notifyAll();
    }
    for (CompletableFuture<String> f : opening.values()) {
      f.completeExceptionally(why);
    }
    for (Receiver r : receivers.values()) {
      r.onBroken(why);
    }
    receivers.clear();
  }

  static WeftException toException(io.weft.api.v1.CallError e) {
    Status status = Status.fromCode(Status.Code.valueOf(e.getCode())).withDescription(e.getMessage());
    return new WeftException(e.getReason(), status, e.getMetadataMap(), null);
  }

  private final class Stream implements ClientResponseObserver<ChannelRequest, ChannelResponse> {
    ClientCallStreamObserver<ChannelRequest> call;
    volatile boolean done;

    @Override
    public void beforeStart(ClientCallStreamObserver<ChannelRequest> requestStream) {
      this.call = requestStream;
      requestStream.disableAutoRequestWithInitial(1);
      requestStream.setOnReadyHandler(() -> {
        synchronized (Channels.this) {
          Channels.this.notifyAll();
        }
      });
    }

    @Override
    public void onNext(ChannelResponse r) {
      onResponse(r);
      requestNext(this);
    }

    @Override
    public void onError(Throwable t) {
      done = true;
      WeftException w = WeftException.fromGrpc(t);
      broken(this, new WeftException("TARGET_GONE", Status.UNAVAILABLE.withDescription(
          "the channel stream to weftd broke (" + w.status().getCode() + ": " + w.status().getDescription()
              + "); weftd closed this stream's receivers"), Map.of(), t));
    }

    @Override
    public void onCompleted() {
      done = true;
      broken(this, new WeftException("TARGET_GONE",
          Status.UNAVAILABLE.withDescription("weftd ended the channel stream"), Map.of(), null));
    }
  }
}
