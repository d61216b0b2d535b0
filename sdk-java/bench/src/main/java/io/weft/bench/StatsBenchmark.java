package io.weft.bench;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.daemon.stats.EventSketches;
import io.weft.daemon.stats.RecentEvents;
import io.weft.daemon.testing.WeftdProcess;
import io.weft.sdk.Counter;
import io.weft.sdk.StatsNamespace;
import io.weft.sdk.Weft;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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
 * Per-call costs of statistics (JMH; run by {@link StatsCost}).
 *
 * <ul>
 *   <li>{@link #counterIncrement}: {@code Counter.increment()} on a client connected to a real
 *       weftd (summed locally; the worker sends the sum every 100 ms); {@link #addByName}: {@code
 *       ns.add("Hits", 1)}, the same with a name lookup; baseline {@link #longAdder}: a bare {@link
 *       LongAdder#increment()}.
 *   <li>{@link #sketchEvent}: {@link EventSketches#onEvent} with two sketched fields (weftd's
 *       default, both present in every event), over 4,096 pre-built events of 1,000 routing keys,
 *       2,048 client addresses and 500 urls; {@link #sketchEventNewValues}: the same with values
 *       drawn from millions (the worst case: nearly every value is new); {@link
 *       #sketchEventKeysOnly}: no fields sketched; {@link #recentEvent}: {@link RecentEvents#onEvent}
 *       over the same events; baseline {@link #countByKey}: a {@link HashMap} count per routing key
 *       (the least any per-key statistic costs).
 * </ul>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class StatsBenchmark {

  /** A client connected to a real daemon, with a counter handle. */
  @State(Scope.Thread)
  public static class Connected {
    WeftdProcess daemon;
    Weft weft;
    StatsNamespace ns;
    Counter counter;

    @Setup(Level.Trial)
    public void start() throws IOException {
      daemon = Daemons.start();
      weft = Weft.builder().address(daemon.target()).build();
      ns = weft.stats().namespace("bench");
      counter = ns.counter("Increments");
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
      boolean flushed = weft.stats().flush(Duration.ofSeconds(30));
      long dropped = weft.stats().dropped();
      weft.close();
      daemon.close();
      if (!flushed || dropped != 0) {
        throw new IllegalStateException("stats not delivered: flushed " + flushed + ", dropped " + dropped);
      }
    }
  }

  /** A bare LongAdder. */
  @State(Scope.Thread)
  public static class Adder {
    final LongAdder adder = new LongAdder();
  }

  /** Pre-built events, sketches and a recent cache as weftd configures them by default. */
  @State(Scope.Thread)
  public static class Events {
    static final int N = 4096;
    final ContextEvent[] events = new ContextEvent[N];
    /** The same shape, but the field values drawn from millions: nearly every one is new to the sketch. */
    final ContextEvent[] wideEvents = new ContextEvent[N];
    EventSketches sketches;
    EventSketches wide;
    EventSketches keysOnly;
    RecentEvents recent;
    final HashMap<String, long[]> counts = new HashMap<>();
    int i;

    @Setup(Level.Trial)
    public void build() {
      SplittableRandom r = new SplittableRandom(42);
      for (int k = 0; k < N; k++) {
        // Routing keys as the protobuf parser hands them over: a new String per event.
        String key = new String("app.service" + r.nextInt(1000) + ".request");
        events[k] = ContextEvent.newBuilder()
            .setRoutingKey(key)
            .setId("req-" + r.nextLong())
            .setFields(Struct.newBuilder()
                .putFields("client_ip", Value.newBuilder().setStringValue("10.0." + r.nextInt(8) + "."
                    + r.nextInt(256)).build())
                .putFields("url", Value.newBuilder().setStringValue("/api/item/" + r.nextInt(500)).build())
                .putFields("status", Value.newBuilder().setNumberValue(200).build()))
            .build();
        wideEvents[k] = events[k].toBuilder()
            .setFields(Struct.newBuilder()
                .putFields("client_ip", Value.newBuilder().setStringValue("10." + r.nextInt(256) + "."
                    + r.nextInt(256) + "." + r.nextInt(256)).build())
                .putFields("url", Value.newBuilder().setStringValue("/api/item/" + r.nextInt(10_000_000)).build())
                .putFields("status", Value.newBuilder().setNumberValue(200).build()))
            .build();
      }
      sketches = new EventSketches(List.of("client_ip", "url"), 1024);
      wide = new EventSketches(List.of("client_ip", "url"), 1024);
      keysOnly = new EventSketches(List.of(), 1024);
      recent = new RecentEvents(512, 100, 512);
    }

    ContextEvent next() {
      return events[i++ & (N - 1)];
    }

    ContextEvent nextWide() {
      return wideEvents[i++ & (N - 1)];
    }
  }

  @Benchmark
  public void counterIncrement(Connected c) {
    c.counter.increment();
  }

  @Benchmark
  public void addByName(Connected c) {
    c.ns.add("Hits", 1);
  }

  @Benchmark
  public void longAdder(Adder a) {
    a.adder.increment();
  }

  @Benchmark
  public void sketchEvent(Events e) {
    e.sketches.onEvent(e.next());
  }

  @Benchmark
  public void sketchEventNewValues(Events e) {
    e.wide.onEvent(e.nextWide());
  }

  @Benchmark
  public void sketchEventKeysOnly(Events e) {
    e.keysOnly.onEvent(e.next());
  }

  @Benchmark
  public void recentEvent(Events e) {
    e.recent.onEvent(e.next());
  }

  @Benchmark
  public long countByKey(Events e) {
    return e.counts.computeIfAbsent(e.next().getRoutingKey(), k -> new long[1])[0]++;
  }
}
