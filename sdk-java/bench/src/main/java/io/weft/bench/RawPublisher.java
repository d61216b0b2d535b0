package io.weft.bench;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import io.weft.daemon.testing.WeftdProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The baseline: a bare grpc-java client that streams pre-built {@code PublishRequest} batches of
 * the same events the SDK would send (same ids' shape, fields, seq and timestamps) on one
 * {@code ContextService.Publish} stream per round, writing only while the stream is ready. It
 * costs what the transport and the daemon cost, and nothing of building events.
 */
final class RawPublisher implements EndToEnd.Publisher {
  private static final long ACK_WAIT_SECONDS = 10;

  private final ManagedChannel channel;
  private final int maxBatchEvents;
  private List<PublishRequest> batches;
  private Stream stream;
  private EndToEnd.Losses total = new EndToEnd.Losses(0, 0, 0);
  private int streams;
  private long waits;

  RawPublisher(WeftdProcess daemon, int maxBatchEvents) {
    this.maxBatchEvents = maxBatchEvents;
    this.channel = Daemons.channel(daemon);
  }

  @Override
  public void prepare(String routingKey, int objects) {
    List<ContextEvent> events = new ArrayList<>(objects * EndToEnd.EVENTS_PER_OBJECT);
    for (int i = 0; i < objects; i++) {
      String id = UUID.randomUUID().toString();
      long seq = 0;
      events.add(event(id, routingKey, EventKind.EVENT_KIND_BORN, ++seq).setFields(fields("n", i)).build());
      for (String k : EndToEnd.KEYS) {
        events.add(event(id, routingKey, EventKind.EVENT_KIND_UPDATE, ++seq).setFields(fields(k, i)).build());
      }
      events.add(event(id, routingKey, EventKind.EVENT_KIND_FINISHED, ++seq).build());
    }
    batches = new ArrayList<>();
    for (int from = 0; from < events.size(); from += maxBatchEvents) {
      addBatch(events.subList(from, Math.min(events.size(), from + maxBatchEvents)));
    }
  }

  private void addBatch(List<ContextEvent> events) {
    PublishRequest.Builder req =
        PublishRequest.newBuilder().setBatchSeq(batches.size() + 1).addAllEvents(events);
    if (batches.isEmpty()) {
      req.setClientId("bench-raw-" + (streams + 1)); // read from a stream's first message only
    }
    batches.add(req.build());
  }

  private static Struct fields(String name, int value) {
    return Struct.newBuilder().putFields(name, Value.newBuilder().setNumberValue(value).build()).build();
  }

  private static ContextEvent.Builder event(String id, String routingKey, EventKind kind, long seq) {
    return ContextEvent.newBuilder()
        .setId(id)
        .setRoutingKey(routingKey)
        .setKind(kind)
        .setSeq(seq)
        .setTimeUnixNanos(System.currentTimeMillis() * 1_000_000L);
  }

  @Override
  public void publish() {
    stream = new Stream(Thread.currentThread());
    streams++;
    ContextServiceGrpc.newStub(channel).publish(stream);
    for (PublishRequest r : batches) {
      while (!stream.call.isReady()) {
        stream.check();
        LockSupport.parkNanos(1_000_000); // the on-ready handler unparks sooner
        waits++;
      }
      stream.call.onNext(r);
    }
    stream.call.onCompleted();
    batches = null;
  }

  @Override
  public long waits() {
    return waits;
  }

  @Override
  public EndToEnd.Losses losses() {
    if (stream != null) {
      // The daemon ends the stream after its last ack: then the counts are final.
      PublishResponse last = stream.awaitEnd();
      total = new EndToEnd.Losses(0, total.droppedByDaemon() + last.getDropped(),
          total.rejected() + last.getRejected());
      stream = null;
    }
    return total;
  }

  @Override
  public String describe() {
    return String.format("grpc-java Publish stream, pre-built batches of %,d events; pauses while the stream"
        + " is not ready (flow control)", maxBatchEvents);
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }

  /** One Publish stream: remembers the last ack and how the stream ended. */
  private static final class Stream implements ClientResponseObserver<PublishRequest, PublishResponse> {
    private final Thread writer;
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile PublishResponse last = PublishResponse.getDefaultInstance();
    private volatile Throwable failure;
    ClientCallStreamObserver<PublishRequest> call;

    Stream(Thread writer) {
      this.writer = writer;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<PublishRequest> call) {
      this.call = call;
      call.setOnReadyHandler(() -> LockSupport.unpark(writer));
    }

    @Override
    public void onNext(PublishResponse r) {
      last = r;
    }

    @Override
    public void onError(Throwable t) {
      failure = t;
      ended.countDown();
    }

    @Override
    public void onCompleted() {
      ended.countDown();
    }

    void check() {
      if (failure != null) {
        throw new IllegalStateException("raw Publish stream failed", failure);
      }
    }

    PublishResponse awaitEnd() {
      try {
        if (!ended.await(ACK_WAIT_SECONDS, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the daemon did not end the raw Publish stream");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      check();
      return last;
    }
  }
}
