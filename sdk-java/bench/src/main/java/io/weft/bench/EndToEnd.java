package io.weft.bench;

import io.weft.api.v1.ContextObject;
import io.weft.daemon.testing.WeftdProcess;
import io.weft.sdk.Filter;
import io.weft.sdk.Monitor;
import io.weft.sdk.Weft;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * End-to-end throughput: one publisher sends {@code objects} objects of
 * {@value #EVENTS_PER_OBJECT} events each (BORN, {@value #SETS} UPDATEs, FINISHED) through weftd
 * to a collating watcher ({@link Weft#objects} on a second client, OBJECTS mode). A round is
 * timed from the first publish until the watcher holds every finished object.
 *
 * <p>Two publishers, each on a fresh daemon with the same watcher: the Java SDK ({@link
 * SdkPublisher}) and, as the baseline, a raw grpc-java stream of pre-built batches ({@link
 * RawPublisher}). Each runs warm-up rounds, then measured rounds; the median is reported.
 * Losses (SDK drops, daemon drops, rejections, watcher lag, objects that never arrived) are
 * counted per round and flag the figure.
 */
final class EndToEnd {
  static final int SETS = 8;
  static final int EVENTS_PER_OBJECT = SETS + 2;
  /** The field each UPDATE sets. */
  static final String[] KEYS = IntStream.range(0, SETS).mapToObj(k -> "f" + k).toArray(String[]::new);
  /** The largest per-watcher buffer weftd grants: a burst must not make the watcher lag. */
  static final int WATCH_BUFFER = 65_536;
  /** A round ends early when no object arrived for this long (something was lost). */
  private static final Duration QUIET = Duration.ofSeconds(10);
  private static final Duration PROBE_DEADLINE = Duration.ofSeconds(20);

  /** Sends one round's objects; counts what it lost. */
  interface Publisher extends AutoCloseable {
    /** Untimed preparation of a round (the raw baseline builds its batches here). */
    void prepare(String routingKey, int objects);

    /** Publishes what {@link #prepare} described; returns when the last event is handed over. */
    void publish();

    /** Times the publisher paused for room so far (SDK: a full buffer ahead; raw: flow control). */
    long waits();

    /** Events lost so far, waiting a little for the last acknowledgements. */
    Losses losses();

    /** How it is configured, for the report. */
    String describe();

    @Override
    void close();
  }

  /** Events lost on the publishing side, cumulative. */
  record Losses(long dropped, long droppedByDaemon, long rejected) {
    Losses minus(Losses o) {
      return new Losses(dropped - o.dropped, droppedByDaemon - o.droppedByDaemon, rejected - o.rejected);
    }

    long total() {
      return dropped + droppedByDaemon + rejected;
    }
  }

  /** One measured round. */
  record Round(double eventsPerSecond, double seconds, double publishSeconds, long waits, long received,
      Losses losses, long lagged) {
    boolean lossy(int objects) {
      return received < objects || losses.total() > 0 || lagged > 0;
    }
  }

  private final int objects;
  private final int warmups;
  private final int rounds;
  private final int bufferCapacity;
  private final int maxBatchEvents;

  /**
   * @param bufferCapacity the SDK's buffer (and nothing else: the raw baseline has none)
   * @param maxBatchEvents events per batch, for the SDK and the raw baseline alike
   */
  EndToEnd(int objects, int warmups, int rounds, int bufferCapacity, int maxBatchEvents) {
    this.objects = objects;
    this.warmups = warmups;
    this.rounds = rounds;
    this.bufferCapacity = bufferCapacity;
    this.maxBatchEvents = maxBatchEvents;
  }

  List<Figure> run() throws Exception {
    System.out.printf("End-to-end: %,d objects x %d events = %,d events per round; %d warm-up + %d"
            + " measured rounds per publisher; watcher: Weft.objects(), watch buffer %,d%n",
        objects, EVENTS_PER_OBJECT, events(), warmups, rounds, WATCH_BUFFER);
    List<Round> sdk;
    try (WeftdProcess d = Daemons.start();
        Publisher p = new SdkPublisher(d.target(), bufferCapacity, maxBatchEvents)) {
      sdk = rounds(d, "sdk", p);
    }
    List<Round> raw;
    try (WeftdProcess d = Daemons.start(); Publisher p = new RawPublisher(d, maxBatchEvents)) {
      raw = rounds(d, "raw", p);
    }
    double sdkRate = median(sdk);
    double rawRate = median(raw);
    boolean sdkLossy = sdk.stream().anyMatch(r -> r.lossy(objects));
    boolean rawLossy = raw.stream().anyMatch(r -> r.lossy(objects));
    return List.of(
        new Figure("e2e events/s, Java SDK", sdkRate, "ev/s", Figure.Target.atLeast(500_000), sdkLossy,
            summary(sdk)),
        new Figure("e2e events/s, raw gRPC stream (baseline)", rawRate, "ev/s", null, rawLossy, summary(raw)),
        new Figure("e2e ratio SDK/raw", sdkRate / rawRate, "", null, sdkLossy || rawLossy,
            "medians of the two lines above"));
  }

  private List<Round> rounds(WeftdProcess d, String name, Publisher publisher) throws Exception {
    System.out.printf("  %s: %s%n", name, publisher.describe());
    List<Round> measured = new ArrayList<>();
    try (Weft watcher = Weft.builder().address(d.target()).build()) {
      for (int i = 1; i <= warmups + rounds; i++) {
        boolean warmup = i <= warmups;
        Round r = round(watcher, publisher, "bench." + name + ".r" + i);
        System.out.printf("  %s %s %d: %,d events in %.3f s = %,.0f events/s (publishing took %.3f s, %,d"
                + " pauses); objects %,d/%,d; dropped %d, by daemon %d, rejected %d; watcher lagged %d%s%n",
            name, warmup ? "warm-up" : "round", i, events(), r.seconds, r.eventsPerSecond, r.publishSeconds,
            r.waits, r.received, objects, r.losses.dropped(), r.losses.droppedByDaemon(), r.losses.rejected(),
            r.lagged, r.lossy(objects) ? "  <-- LOSSY" : "");
        if (!warmup) {
          measured.add(r);
        }
      }
    }
    return measured;
  }

  private Round round(Weft watcher, Publisher publisher, String key) throws Exception {
    publisher.prepare(key + ".data", objects);
    Filter filter = Filter.builder().routingKeys(key + ".#").bufferSize(WATCH_BUFFER).build();
    try (Monitor<ContextObject> monitor = watcher.objects(filter)) {
      awaitWatching(watcher, monitor, key);
      Collector collector = new Collector(monitor, key + ".data", objects);
      Losses before = publisher.losses();
      long waitsBefore = publisher.waits();
      collector.start();
      long t0 = System.nanoTime();
      publisher.publish();
      long published = System.nanoTime();
      collector.await(QUIET);
      Losses lost = publisher.losses().minus(before);
      long received = collector.received();
      long end = received > 0 ? collector.lastArrivalNs() : System.nanoTime();
      double seconds = (end - t0) / 1e9;
      // Short of objects, the rate counts only what arrived (and the figure is flagged).
      double rate = received * EVENTS_PER_OBJECT / seconds;
      return new Round(rate, seconds, (published - t0) / 1e9, publisher.waits() - waitsBefore, received, lost,
          monitor.lagged());
    }
  }

  /**
   * Returns once the daemon has registered the watch: a probe object (published until one
   * arrives, since a probe sent before the registration is not seen) has come back.
   */
  private static void awaitWatching(Weft watcher, Monitor<ContextObject> monitor, String key) {
    long deadline = System.nanoTime() + PROBE_DEADLINE.toNanos();
    while (System.nanoTime() - deadline < 0) {
      watcher.push(key + ".probe", Map.of());
      if (monitor.poll(Duration.ofMillis(200)) != null) {
        return;
      }
    }
    throw new IllegalStateException("the watcher saw no probe within " + PROBE_DEADLINE);
  }

  private long events() {
    return (long) objects * EVENTS_PER_OBJECT;
  }

  private static double median(List<Round> rounds) {
    double[] r = rounds.stream().mapToDouble(Round::eventsPerSecond).sorted().toArray();
    return r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
  }

  private String summary(List<Round> rounds) {
    double min = rounds.stream().mapToDouble(Round::eventsPerSecond).min().orElse(0);
    double max = rounds.stream().mapToDouble(Round::eventsPerSecond).max().orElse(0);
    long lost = rounds.stream().mapToLong(r -> r.losses.total()).sum();
    long lagged = rounds.stream().mapToLong(Round::lagged).sum();
    long missing = rounds.stream().mapToLong(r -> objects - r.received).sum();
    return String.format("median of %d, range %s-%s; lost %d events, lagged %d, missing %d objects",
        rounds.size(), Figure.number(min), Figure.number(max), lost, lagged, missing);
  }

  /** The watcher's consumer: counts the round's finished objects as they arrive. */
  private static final class Collector extends Thread {
    private final Monitor<ContextObject> monitor;
    private final String routingKey;
    private final int expected;
    private volatile long received;
    private volatile long lastArrivalNs;
    private volatile boolean stop;

    Collector(Monitor<ContextObject> monitor, String routingKey, int expected) {
      super("bench-watcher");
      this.monitor = monitor;
      this.routingKey = routingKey;
      this.expected = expected;
      setDaemon(true);
    }

    @Override
    public void run() {
      long n = 0;
      while (n < expected && !stop) {
        ContextObject o = monitor.poll(Duration.ofMillis(100));
        if (o != null && o.getRoutingKey().equals(routingKey)) { // late probes are not counted
          lastArrivalNs = System.nanoTime();
          received = ++n;
        }
      }
    }

    /** Waits until every object arrived, or none arrived for {@code quiet}. */
    void await(Duration quiet) throws InterruptedException {
      long seen = -1;
      while (isAlive() && received != seen) {
        seen = received;
        join(quiet.toMillis());
      }
      stop = true;
      join();
    }

    long received() {
      return received;
    }

    long lastArrivalNs() {
      return lastArrivalNs;
    }
  }
}
