package io.weft.bench;

import io.grpc.ManagedChannel;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.QueueInfo;
import io.weft.api.v1.QueuesRequest;
import io.weft.daemon.testing.WeftdProcess;
import io.weft.sdk.Context;
import io.weft.sdk.Weft;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The daemon's footprint, read from {@code /proc}: its resident memory with many live objects,
 * and its CPU use when idle. Each measurement runs a fresh weftd with its launcher's default
 * JVM options ({@link Daemons#start()}).
 *
 * <p>{@link WeftdProcess#pid()} is the launcher script's pid; the launcher {@code exec}s java,
 * so it is the JVM's pid (checked: its {@code comm} must be {@code java}).
 */
final class DaemonFootprint {
  private static final double MIB = 1024 * 1024;
  /** Objects published between flushes: half the SDK's default buffer, so none is dropped. */
  private static final int CHUNK = 5_000;
  private static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration LOAD_DEADLINE = Duration.ofSeconds(60);

  private DaemonFootprint() {}

  /**
   * RSS at idle, then with {@code objects} live objects (BORN with five small fields, never
   * finished): the first reading once the collator holds them all, then the maximum over
   * {@code settle} of further readings (GC and JIT may still move it).
   */
  static List<Figure> rss(int objects, Duration settle) throws Exception {
    try (WeftdProcess d = Daemons.start()) {
      ManagedChannel channel = Daemons.channel(d);
      try {
        return rss(d, AdminServiceGrpc.newBlockingStub(channel), objects, settle);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  private static List<Figure> rss(
      WeftdProcess d, AdminServiceGrpc.AdminServiceBlockingStub admin, int objects, Duration settle)
      throws Exception {
    Proc proc = process(d);
    Thread.sleep(2_000); // let start-up finish (JIT, lazy class loading) before the baseline
    long idle = proc.rssBytes();
    long dropped;
    try (Weft weft = Weft.builder().address(d.target()).build()) {
      for (int i = 0; i < objects; i++) {
        // Opened and deliberately never closed: the object stays live in the daemon.
        weft.context("bench.rss")
            .field("n", i).field("method", "GET").field("status", 200)
            .field("cached", i % 2 == 0).field("user", "u" + (i % 1000))
            .open();
        if ((i + 1) % CHUNK == 0) {
          flush(weft, d);
        }
      }
      flush(weft, d);
      dropped = weft.dropped() + weft.droppedByDaemon() + weft.rejected();
    }
    long live = awaitLive(admin, objects);
    long loaded = proc.rssBytes();
    long max = loaded;
    for (long end = System.nanoTime() + settle.toNanos(); System.nanoTime() - end < 0; ) {
      Thread.sleep(250);
      max = Math.max(max, proc.rssBytes());
    }
    Map<String, Long> counters = admin.info(InfoRequest.getDefaultInstance()).getCountersMap();
    long expired = counters.getOrDefault("objects_expired_cap", 0L)
        + counters.getOrDefault("objects_expired_ttl", 0L)
        + counters.getOrDefault("objects_expired_bytes", 0L);
    boolean lossy = dropped > 0 || expired > 0 || live != objects;
    String note = String.format("%,d live (%,d events applied); first reading %.1f MiB, max over %d s;"
            + " lost %d, expired %d", live, counters.getOrDefault("events_applied", 0L), loaded / MIB,
        settle.toSeconds(), dropped, expired);
    System.out.printf("RSS: idle %.1f MiB; with %,d live objects %.1f MiB, max %.1f MiB after %d s%n",
        idle / MIB, live, loaded / MIB, max / MIB, settle.toSeconds());
    return List.of(
        Figure.info("daemon RSS, idle (baseline)", idle / MIB, "MiB", "fresh weftd, default JVM options"),
        new Figure(String.format("daemon RSS, %,d live objects", objects), max / MIB, "MiB",
            Figure.Target.atMost(256), lossy, note),
        Figure.info("daemon RSS growth per live object", (max - idle) / (double) live, "bytes", ""));
  }

  /**
   * CPU used by a freshly started, warmed-up daemon left idle for {@code idle}: (utime + stime)
   * over wall time, as a percentage of one core.
   */
  static Figure idleCpu(Duration idle) throws Exception {
    try (WeftdProcess d = Daemons.start()) {
      Proc proc = process(d);
      // Warm-up: some traffic, so the idle state is the one after work, not after start-up.
      try (Weft weft = Weft.builder().address(d.target()).build()) {
        for (int i = 0; i < 1_000; i++) {
          try (Context ctx = weft.context("bench.idle").field("n", i).open()) {
            ctx.set("status", 200);
          }
        }
        flush(weft, d);
      }
      Thread.sleep(3_000);
      long hz = Proc.ticksPerSecond();
      long ticks0 = proc.cpuTicks();
      long t0 = System.nanoTime();
      Thread.sleep(idle.toMillis());
      long ticks1 = proc.cpuTicks();
      long t1 = System.nanoTime();
      long threads = proc.threads();
      double cpuSeconds = (ticks1 - ticks0) / (double) hz;
      double percent = 100 * cpuSeconds / ((t1 - t0) / 1e9);
      System.out.printf("idle CPU: %d ticks (%d/s) over %.1f s = %.3f %% of a core; %d threads%n",
          ticks1 - ticks0, hz, (t1 - t0) / 1e9, percent, threads);
      return new Figure("daemon CPU when idle", percent, "% core", Figure.Target.below(1), false,
          String.format("%d threads; %d s idle after warm-up; resolution %.3f %%", threads,
              idle.toSeconds(), 100.0 / hz / ((t1 - t0) / 1e9)));
    }
  }

  private static Proc process(WeftdProcess d) throws IOException {
    Proc proc = new Proc(d.pid());
    if (!proc.command().equals("java")) {
      throw new IllegalStateException("pid " + d.pid() + " is '" + proc.command() + "', not the weftd JVM");
    }
    return proc;
  }

  private static void flush(Weft weft, WeftdProcess d) {
    if (!weft.flush(FLUSH_TIMEOUT)) {
      throw new IllegalStateException("flush did not complete within " + FLUSH_TIMEOUT
          + (d.isAlive() ? "" : "; weftd exited:\n" + tail(d.output())));
    }
  }

  /** The last lines a daemon printed, e.g. why it exited. */
  private static String tail(String output) {
    List<String> lines = output.lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
  }

  /** Polls {@code AdminService.Queues} until {@code collator.live} holds {@code objects}. */
  private static long awaitLive(AdminServiceGrpc.AdminServiceBlockingStub admin, int objects)
      throws InterruptedException {
    long deadline = System.nanoTime() + LOAD_DEADLINE.toNanos();
    long live = 0;
    while (System.nanoTime() - deadline < 0) {
      live = admin.queues(QueuesRequest.getDefaultInstance()).getQueuesList().stream()
          .filter(q -> q.getName().equals("collator.live"))
          .mapToLong(QueueInfo::getDepth).findFirst().orElse(0);
      if (live >= objects) {
        return live;
      }
      Thread.sleep(100);
    }
    System.out.printf("RSS: only %,d of %,d objects live after %s%n", live, objects, LOAD_DEADLINE);
    return live;
  }
}
