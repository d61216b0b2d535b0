package io.weft.bench;

import com.google.gson.JsonParser;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.weft.api.v1.BusBatch;
import io.weft.api.v1.QueueInfo;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.Rabbit;
import io.weft.daemon.testing.WeftdProcess;
import io.weft.sdk.Weft;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * The bus figures (issue "Bus"), in one run against the local RabbitMQ: PerfTest's single
 * publisher with confirms as the baseline, weftd's events/s to the broker in both formats, the
 * latency weftd adds between an SDK and a consumer, and weftd's memory during a broker outage.
 */
final class BusBench {

  private static final String KEY = "bench.bus";
  /** The direct publisher's routing key in the latency runs: the consumer tells the two apart by it. */
  private static final String DIRECT_KEY = "bench.direct";
  private static final Pattern PERFTEST_RATE = Pattern.compile("sending rate avg: (\\d+) msg/s");
  /**
   * Events sent between flushes: below what the throughput runs' bus.capacity (65,536, set for them
   * above the default) and its memory stage hold together, so that the publisher never outruns the
   * bus queue under the drop policy, and large enough that the pipeline rarely runs dry.
   */
  private static final int CHUNK = 50_000;
  /** bus.capacity for the throughput runs: a chunk must fit, the default (16,384) bounds outage memory instead. */
  private static final int THROUGHPUT_CAPACITY = 65_536;
  /** Events through weftd before a throughput is timed: its JIT compiles the path first. */
  private static final int WARM_UP_EVENTS = 200_000;
  private static final Duration FLUSH = Duration.ofSeconds(120);
  private static final double MIB = 1024 * 1024;

  /** Seconds per warm-up step of the latency part: an even number, a whole number of turn pairs. */
  private static final int WARM_STEP_S = 4;
  /** JIT compilation per JVM in one warm-up step (at most) that counts as settled. */
  private static final long SETTLED_COMPILE_MS = 50;

  private final boolean quick;

  BusBench(boolean quick) {
    this.quick = quick;
  }

  List<Figure> run() throws Exception {
    List<Figure> out = new ArrayList<>();
    int size = contextureMessageBytes();
    double perfTest = perfTest(size, quick ? 5 : 20);
    out.add(Figure.info("bus: PerfTest 1 publisher, confirms", perfTest, "msg/s", size + "-byte messages, 1 consumer"));
    int events = quick ? 20_000 : 200_000;
    double contexture = throughput("contexture", events);
    out.add(new Figure("bus: weftd -> broker, contexture", contexture / perfTest, "x PerfTest",
        Figure.Target.atLeast(0.9), false, String.format("%.0f ev/s", contexture)));
    double batch = throughput("batch", events * 2);
    out.add(new Figure("bus: weftd -> broker, batch", batch / perfTest, "x PerfTest",
        Figure.Target.atLeast(5), false, String.format("%.0f ev/s", batch)));
    out.addAll(addedLatency());
    Duration outage = Duration.ofSeconds(quick ? 10 : 60);
    out.add(outageRss("drop", outage));
    out.add(outageRss("spool", outage));
    return out;
  }

  /** The size of the body weftd sends for one bench event, so that PerfTest sends the same. */
  private static int contextureMessageBytes() throws Exception {
    try (Rabbit.Exchange ex = Rabbit.exchange();
        Rabbit.Tap tap = Rabbit.tap(ex.name(), "#");
        WeftdProcess d = daemon(ex.name(), "contexture", "drop", null);
        Weft weft = Weft.builder().address(d.target()).build()) {
      weft.push(KEY, fields(0));
      weft.flush(FLUSH);
      return tap.await(1, Duration.ofSeconds(30)).get(0).body().length;
    }
  }

  /** PerfTest as its own JVM, as operators run it: 1 producer, 1 consumer, confirms (1000 in flight). */
  private static double perfTest(int size, int seconds) throws Exception {
    String cp = System.getProperty("java.class.path");
    Process p = new ProcessBuilder("java", "-cp", cp, "com.rabbitmq.perf.PerfTest", "--uri", Rabbit.url(),
        "-x", "1", "-y", "1", "-c", "1000", "-s", Integer.toString(size), "-z", Integer.toString(seconds),
        "-f", "persistent")
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("PerfTest failed:\n" + output);
    }
    Matcher m = PERFTEST_RATE.matcher(output);
    if (!m.find()) {
      throw new IllegalStateException("no sending rate in PerfTest's output:\n" + output);
    }
    System.out.println("PerfTest: " + m.group());
    return Double.parseDouble(m.group(1));
  }

  /** Events/s from one SDK through weftd until a consumer has them all, in chunks each flushed (confirmed). */
  private static double throughput(String format, int events) throws Exception {
    try (Rabbit.Exchange ex = Rabbit.exchange();
        WeftdProcess d = daemon(ex.name(), format, "drop", null, THROUGHPUT_CAPACITY);
        Weft weft = Weft.builder().address(d.target()).bufferCapacity(65_536).build();
        Connection c = Rabbit.connect()) {
      AtomicLong received = new AtomicLong();
      Channel ch = c.createChannel();
      String q = ch.queueDeclare("", false, true, true, null).getQueue();
      ch.queueBind(q, ex.name(), "#");
      ch.basicConsume(q, true, (tag, m) -> received.addAndGet(
          format.equals("batch") ? BusBatch.parseFrom(m.getBody()).getEventsCount() : 1), tag -> { });
      send(weft, WARM_UP_EVENTS);
      Poll.until(Duration.ofSeconds(120), () -> received.get() >= WARM_UP_EVENTS, () -> "warm-up");
      long base = received.get();
      long t0 = System.nanoTime();
      send(weft, events);
      Poll.until(Duration.ofSeconds(120), () -> received.get() - base >= events, () -> "consumed " + (received.get() - base));
      double seconds = (System.nanoTime() - t0) / 1e9;
      QueueInfo bus = d.queue("bus");
      if (bus.getDropsOrThrow("full") > 0 || weft.dropped() > 0) {
        throw new IllegalStateException("events were dropped: " + bus + " sdk " + weft.dropped());
      }
      double rate = events / seconds;
      System.out.printf("weftd -> broker (%s): %d events in %.2f s = %.0f ev/s%n", format, events, seconds, rate);
      return rate;
    }
  }

  /** Sends {@code events} in chunks, each flushed (confirmed by the broker) before the next. */
  private static void send(Weft weft, int events) {
    for (int sent = 0; sent < events; sent += CHUNK) {
      for (int i = 0; i < CHUNK && sent + i < events; i++) {
        while (weft.pending() > 60_000) {
          LockSupport.parkNanos(100_000);
        }
        weft.push(KEY, fields(sent + i));
      }
      if (!weft.flush(FLUSH)) {
        throw new IllegalStateException("flush timed out");
      }
    }
  }

  /** The latency weftd adds (the {@code bus-latency} part of the bench on its own). */
  List<Figure> addedLatency() throws Exception {
    return quick ? addedLatency(WARM_STEP_S, WARM_STEP_S, 5) : addedLatency(32, 180, 20);
  }

  /**
   * Latency SDK → consumer at 1,000 events/s, beside a direct amqp-client publisher (with
   * confirms, as weftd publishes) to the same broker: the difference is what weftd adds. The two
   * take turns, one second each, at the same rate, so that both meet the same machine: measured one
   * after the other, a few busy seconds on 2 shared cores moved either p99 by more than the target.
   * The direct publisher has a connection of its own, as an application's would and as weftd's has:
   * on the consumer's connection, its confirms and the consumer's deliveries would share one socket
   * and one reader thread.
   *
   * <p>Measured for {@code seconds} each in the steady state of a long-running sidecar: after a
   * warm-up of the same load that lasts until neither JVM's JIT compiler used more than
   * {@link #SETTLED_COMPILE_MS} in a {@link #WARM_STEP_S} step (at least {@code minWarmS}, at most
   * {@code maxWarmS}). At 1,000 events/s the per-event paths reach the C2 compiler's thresholds
   * only after 10-15 s, and the compilations, tens of ms each, go on for half a minute and more:
   * measured then, events wait behind the compiler threads on 2 shared cores.
   */
  private static List<Figure> addedLatency(int minWarmS, int maxWarmS, int seconds) throws Exception {
    int rate = 1_000;
    Histogram viaWeftd = new Histogram(3);
    Histogram direct = new Histogram(3);
    int warmS;
    try (Rabbit.Exchange ex = Rabbit.exchange();
        WeftdProcess d = daemon(ex.name(), "contexture", "drop", null);
        Weft weft = Weft.builder().address(d.target()).build();
        Connection c = Rabbit.connect();
        Connection publishing = Rabbit.connect()) {
      Channel consumer = c.createChannel();
      String q = consumer.queueDeclare("", false, true, true, null).getQueue();
      consumer.queueBind(q, ex.name(), "#");
      AtomicLong seen = new AtomicLong();
      // Set once the warm-up is through: events sent from then on are measured. Read on amqp-client's thread.
      AtomicBoolean measuring = new AtomicBoolean();
      AtomicLong measuredFromNs = new AtomicLong();
      consumer.basicConsume(q, true, (tag, m) -> {
        long now = System.nanoTime();
        long sentAt = JsonParser.parseString(new String(m.getBody(), StandardCharsets.UTF_8)).getAsJsonObject()
            .getAsJsonObject("obj").get("t_ns").getAsLong();
        Histogram into = m.getEnvelope().getRoutingKey().equals(KEY) ? viaWeftd : direct;
        synchronized (into) {
          if (measuring.get() && sentAt - measuredFromNs.get() >= 0) {
            into.recordValue(Math.max(0, now - sentAt));
          }
        }
        seen.incrementAndGet();
      }, tag -> { });

      Channel publisher = publishing.createChannel();
      publisher.confirmSelect();
      AMQP.BasicProperties props = new AMQP.BasicProperties.Builder().contentType("application/json")
          .deliveryMode(2).build();
      LongConsumer turns = i -> {
        long t = System.nanoTime();
        if (i / rate % 2 == 0) {
          weft.push(KEY, Map.of("t_ns", t));
          return;
        }
        String body = "{\"obj_id\":\"" + UUID.randomUUID() + "\",\"status\":\"transient\",\"obj\":{\"t_ns\":" + t + "}}";
        try {
          publisher.basicPublish(ex.name(), DIRECT_KEY, props, body.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      };
      warmS = warmUp(rate, turns, new Proc(d.pid()), minWarmS, maxWarmS);
      long warm = (long) rate * warmS;
      Poll.until(Duration.ofSeconds(60), () -> seen.get() >= warm, () -> "warm-up " + seen.get());
      measuredFromNs.set(System.nanoTime());
      measuring.set(true);
      int n = 2 * rate * seconds;
      paced(rate, n, turns);
      Poll.until(Duration.ofSeconds(60), () -> seen.get() - warm >= n, () -> "measured " + (seen.get() - warm));
    }
    List<Figure> out = new ArrayList<>();
    for (double pct : new double[] {50, 90, 99, 99.9}) {
      double w = viaWeftd.getValueAtPercentile(pct) / 1e6;
      double dir = direct.getValueAtPercentile(pct) / 1e6;
      System.out.printf("latency p%s: via weftd %.3f ms, direct %.3f ms (%d and %d events)%n", pct, w, dir,
          viaWeftd.getTotalCount(), direct.getTotalCount());
      if (pct != 50 && pct != 99) {
        continue;
      }
      out.add(new Figure(String.format("bus: latency added by weftd, p%.0f", pct), w - dir, "ms",
          pct == 99 ? Figure.Target.atMost(1) : null, false,
          String.format("via weftd %.3f ms, direct amqp-client %.3f ms, %d ev/s, warm-up %d s", w, dir, rate,
              warmS)));
    }
    return out;
  }

  /**
   * Runs {@code turns} at {@code rate} in steps of {@link #WARM_STEP_S} until the JIT compilers of
   * weftd and of this JVM have settled, as {@link #addedLatency(int, int, int)} says.
   *
   * @return the seconds it ran
   */
  private static int warmUp(int rate, LongConsumer turns, Proc weftd, int minS, int maxS) throws Exception {
    Proc self = new Proc(ProcessHandle.current().pid());
    long ticksPerS = Proc.ticksPerSecond();
    long settledTicks = SETTLED_COMPILE_MS * ticksPerS / 1000;
    int s = 0;
    boolean settled = false;
    while (s < maxS && !(settled && s >= minS)) {
      long weftd0 = weftd.compilerTicks();
      long self0 = self.compilerTicks();
      // Whole pairs of turns, so that each step starts with weftd's turn as the measurement does.
      paced(rate, rate * WARM_STEP_S, turns);
      s += WARM_STEP_S;
      long weftdTicks = weftd.compilerTicks() - weftd0;
      long selfTicks = self.compilerTicks() - self0;
      settled = weftdTicks <= settledTicks && selfTicks <= settledTicks;
      System.out.printf("warm-up %3d s: JIT compiled %4d ms in weftd, %4d ms in the bench%n", s,
          weftdTicks * 1000 / ticksPerS, selfTicks * 1000 / ticksPerS);
    }
    if (!settled) {
      System.out.printf("warm-up: the JIT had not settled after %d s; measuring anyway%n", s);
    }
    return s;
  }

  /** Peak RSS of weftd while the broker is stopped and an SDK goes on publishing 5,000 events/s. */
  private static Figure outageRss(String policy, Duration outage) throws Exception {
    Path spool = policy.equals("spool") ? Files.createTempDirectory("weft-bench-spool-") : null;
    try (Rabbit.Exchange ex = Rabbit.exchange();
        WeftdProcess d = daemon(ex.name(), "contexture", policy, spool);
        Weft weft = Weft.builder().address(d.target()).build()) {
      Proc proc = new Proc(d.pid());
      AtomicLong peak = new AtomicLong(proc.rssBytes());
      double[] cpu = {Double.NaN};
      Rabbit.stopApp();
      long ticks0 = proc.cpuTicks();
      try {
        long end = System.nanoTime() + outage.toNanos();
        paced(5_000, (int) (outage.toSeconds() * 5_000), i -> {
          weft.push(KEY, fields(i));
          if (i % 5_000 == 0) {
            try {
              peak.accumulateAndGet(proc.rssBytes(), Math::max);
            } catch (IOException e) {
              throw new IllegalStateException(e);
            }
          }
        });
        while (System.nanoTime() - end < 0) {
          LockSupport.parkNanos(end - System.nanoTime());
        }
        peak.accumulateAndGet(proc.rssBytes(), Math::max);
        cpu[0] = 100.0 * (proc.cpuTicks() - ticks0) / Proc.ticksPerSecond() / outage.toSeconds();
      } finally {
        Rabbit.startApp();
      }
      QueueInfo bus = d.queue("bus");
      String note = (policy.equals("drop")
          ? String.format("%d dropped (counted), queue %d", bus.getDropsOrThrow("full"), bus.getCapacity())
          : String.format("spool %.1f MiB on disk, %d dropped", bus.getCountersOrThrow("spool_bytes") / MIB,
              bus.getDropsOrThrow("full") + bus.getDropsOrThrow("spool_full")))
          + String.format("; weftd CPU %.0f %% of a core", cpu[0]);
      double mib = peak.get() / MIB;
      System.out.printf("outage %s: peak RSS %.0f MiB over %d s at 5000 ev/s; %s%n", policy, mib, outage.toSeconds(), note);
      return new Figure("bus: weftd RSS, " + outage.toSeconds() + " s outage, " + policy, mib, "MiB",
          Figure.Target.atMost(256), false, note);
    }
  }

  /** Calls {@code action} n times at {@code perSecond}, on this thread. */
  private static void paced(int perSecond, int n, LongConsumer action) {
    long periodNs = 1_000_000_000L / perSecond;
    long next = System.nanoTime();
    for (int i = 0; i < n; i++) {
      action.accept(i);
      next += periodNs;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
    }
  }

  private static WeftdProcess daemon(String exchange, String format, String policy, Path spool) throws IOException {
    return daemon(exchange, format, policy, spool, 0);
  }

  /** @param busCapacity bus.capacity, or 0 for the default */
  private static WeftdProcess daemon(String exchange, String format, String policy, Path spool, int busCapacity)
      throws IOException {
    WeftdProcess.Builder b = WeftdProcess.builder().env("JAVA_OPTS", "")
        .env("WEFT_BUS_URL", Rabbit.url()).env("WEFT_BUS_EXCHANGE", exchange)
        .env("WEFT_BUS_FORMAT", format).env("WEFT_BUS_POLICY", policy);
    if (spool != null) {
      b.env("WEFT_SPOOL_DIR", spool.toString());
    }
    if (busCapacity > 0) {
      b.env("WEFT_BUS_CAPACITY", Integer.toString(busCapacity));
    }
    return b.start();
  }

  private static Map<String, Object> fields(long i) {
    return Map.of("i", i, "url", "http://example.com/items/" + i, "status", 200, "user", "user-" + (i % 1000));
  }
}
