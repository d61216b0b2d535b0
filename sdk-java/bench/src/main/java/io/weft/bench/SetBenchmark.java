package io.weft.bench;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import io.weft.daemon.testing.WeftdProcess;
import io.weft.sdk.Context;
import io.weft.sdk.Weft;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of {@code ctx.set("k", i)} on the application thread (JMH; run by {@link SetCost}).
 *
 * <ul>
 *   <li>{@link #set}: the accepted path, on a client connected to a real weftd. The buffer is
 *       large enough that it never fills within an iteration, and it is flushed between
 *       iterations; a trial that dropped anything fails.
 *   <li>{@link #setWhenBufferFull}: the drop path, for information: a client whose buffer is
 *       full and can never drain (its daemon is absent).
 *   <li>{@link #buildEvent}: the baseline, the equivalent {@link ContextEvent} built by hand.
 * </ul>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SetBenchmark {
  /**
   * Events the connected client may hold. An iteration ({@link SetCost#ITERATION}) of sets at
   * even 100 ns each is 2,000,000 events with no acknowledgement at all; the worker drains
   * concurrently, so the buffer never fills.
   */
  static final int BUFFER = 1 << 22;
  private static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(120);

  /** A client connected to a real daemon, with an open context. */
  @State(Scope.Thread)
  public static class Connected {
    WeftdProcess daemon;
    Weft weft;
    Context ctx;
    int i;
    /** The most the buffer held at the end of an iteration: the headroom left, for the log. */
    int maxHeld;

    @Setup(Level.Trial)
    public void start() throws IOException {
      daemon = Daemons.start();
      weft = Weft.builder().address(daemon.target()).bufferCapacity(BUFFER).build();
    }

    /** Not measured: empties the buffer, so that the iteration starts with all its room. */
    @Setup(Level.Iteration)
    public void open() {
      if (!weft.flush(FLUSH_TIMEOUT)) {
        throw new IllegalStateException(
            "flush between iterations did not complete; pending " + weft.pending());
      }
      ctx = weft.context("bench.set").open();
    }

    @TearDown(Level.Iteration)
    public void finish() {
      maxHeld = Math.max(maxHeld, weft.pending());
      ctx.close();
    }

    /** Fails the run loudly if any set took the drop path: the figure would be wrong. */
    @TearDown(Level.Trial)
    public void stop() throws IOException {
      long dropped = weft.dropped();
      System.out.printf("set: at most %,d of %,d events held at the end of an iteration; %d dropped%n",
          maxHeld, BUFFER, dropped);
      weft.close();
      daemon.close();
      if (dropped != 0) {
        throw new IllegalStateException("set dropped " + dropped + " events: the buffer (" + BUFFER
            + ") filled within an iteration, so the drop path was measured. Enlarge BUFFER or shorten"
            + " the iterations.");
      }
    }
  }

  /** A client whose buffer is full for good: its daemon address leads nowhere. */
  @State(Scope.Thread)
  public static class Full {
    /** Held so that the quieted logger is not collected (and its level forgotten). */
    private static final Logger SDK_LOG = Logger.getLogger("io.weft.sdk");
    Path dir;
    Weft weft;
    Context ctx;
    int i;

    @Setup(Level.Trial)
    public void start() throws IOException {
      SDK_LOG.setLevel(java.util.logging.Level.WARNING); // "weftd unavailable, reconnecting" is expected here
      dir = Files.createTempDirectory("weft-bench-");
      weft = Weft.builder()
          .address("unix://" + dir.resolve("absent.sock").toAbsolutePath())
          .bufferCapacity(1)
          .build();
      ctx = weft.context("bench.full").open(); // the BORN event takes the one place, forever
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
      long dropped = weft.dropped();
      weft.close();
      Files.deleteIfExists(dir);
      if (dropped == 0) {
        throw new IllegalStateException(
            "setWhenBufferFull dropped nothing: it did not measure the drop path");
      }
    }
  }

  /** What the SDK would put in an UPDATE event. */
  @State(Scope.Thread)
  public static class Proto {
    final String id = UUID.randomUUID().toString();
    long seq;
    int i;
  }

  @Benchmark
  public Context set(Connected s) {
    return s.ctx.set("k", s.i++);
  }

  @Benchmark
  public Context setWhenBufferFull(Full s) {
    return s.ctx.set("k", s.i++);
  }

  /** The same UPDATE as {@code set} sends, timestamp included, without the SDK around it. */
  @Benchmark
  public ContextEvent buildEvent(Proto s) {
    Instant now = Instant.now();
    return ContextEvent.newBuilder()
        .setId(s.id)
        .setRoutingKey("bench.set")
        .setKind(EventKind.EVENT_KIND_UPDATE)
        .setSeq(++s.seq)
        .setTimeUnixNanos(now.getEpochSecond() * 1_000_000_000L + now.getNano())
        .setFields(Struct.newBuilder().putFields("k", Value.newBuilder().setNumberValue(s.i++).build()))
        .build();
  }
}
