package io.weft.bench;

import io.weft.sdk.Context;
import io.weft.sdk.Weft;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * Publishes through the Java SDK as an application would: one {@link Weft} client, and per
 * object {@code open()} (BORN with one field), {@value EndToEnd#SETS} {@code set}s, {@code
 * close()} (FINISHED), all on the calling thread.
 *
 * <p>The loop paces itself on {@link Weft#pending()}: it pauses while the SDK holds more than
 * three quarters of its buffer. Publishing is several times faster than the pipeline, so an
 * unpaced loop measures either drops (a buffer smaller than the burst) or, with a buffer that
 * holds the whole burst, mostly the garbage collection of a million retained events in this
 * JVM, which competes with weftd for the same two cores. Paced, the figure is the sustained
 * rate; a drop still counts and flags it.
 */
final class SdkPublisher implements EndToEnd.Publisher {
  private static final long PAUSE_NS = 100_000;

  private final Weft weft;
  private final int bufferCapacity;
  private final int maxBatchEvents;
  private final int highWater;
  private long waits;
  private String routingKey;
  private int objects;

  SdkPublisher(String address, int bufferCapacity, int maxBatchEvents) {
    this.bufferCapacity = bufferCapacity;
    this.maxBatchEvents = maxBatchEvents;
    this.highWater = bufferCapacity / 4 * 3;
    this.weft = Weft.builder()
        .address(address)
        .bufferCapacity(bufferCapacity)
        .maxBatchEvents(maxBatchEvents)
        .build();
  }

  @Override
  public void prepare(String routingKey, int objects) {
    this.routingKey = routingKey;
    this.objects = objects;
  }

  @Override
  public void publish() {
    for (int i = 0; i < objects; i++) {
      while (weft.pending() > highWater) {
        LockSupport.parkNanos(PAUSE_NS);
        waits++;
      }
      try (Context ctx = weft.context(routingKey).field("n", i).open()) {
        for (String k : EndToEnd.KEYS) {
          ctx.set(k, i);
        }
      }
    }
  }

  @Override
  public long waits() {
    return waits;
  }

  @Override
  public EndToEnd.Losses losses() {
    // droppedByDaemon arrives with the acks: let the last ones in before reading it.
    weft.flush(Duration.ofSeconds(10));
    return new EndToEnd.Losses(weft.dropped(), weft.droppedByDaemon(), weft.rejected());
  }

  @Override
  public String describe() {
    return String.format("Weft.builder().bufferCapacity(%,d).maxBatchEvents(%,d), unix socket;"
        + " the loop pauses %d us while pending() > %,d",
        bufferCapacity, maxBatchEvents, PAUSE_NS / 1000, highWater);
  }

  @Override
  public void close() {
    weft.close();
  }
}
