package io.weft.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Runs the benchmarks and prints a summary table (entry point of {@code sdk-java/bench/run}).
 *
 * <pre>
 * run [--quick] [e2e] [set] [rss] [idle] [stats] [bus] [bus-latency] [calls]
 * </pre>
 *
 * With no names, runs all but {@code bus}, {@code bus-latency} and {@code calls}, which run only
 * when named; the two bus parts need a RabbitMQ on localhost (or {@code WEFT_TEST_AMQP_URL}), as
 * {@code ./test-all} starts. {@code --quick} shrinks every size for a smoke test: its figures are
 * not comparable with the targets. Needs the system property {@code
 * weft.launcher.dir} ({@code daemon/target}).
 */
public final class BenchMain {
  private static final List<String> ALL = List.of("e2e", "set", "rss", "idle", "stats");
  private static final List<String> ON_REQUEST = List.of("bus", "bus-latency", "calls");

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    boolean quick = false;
    Set<String> selected = new LinkedHashSet<>();
    for (String a : args) {
      if (a.equals("--quick")) {
        quick = true;
      } else if (ALL.contains(a) || ON_REQUEST.contains(a)) {
        selected.add(a);
      } else {
        System.err.println("usage: run [--quick] [e2e] [set] [rss] [idle] [stats] [bus] [bus-latency] [calls]");
        System.exit(2);
      }
    }
    if (selected.isEmpty()) {
      selected.addAll(ALL);
    }
    List<Figure> figures = new ArrayList<>();
    boolean failed = false;
    for (String name : selected) {
      System.out.println();
      System.out.println("==== " + name + " ====");
      try {
        figures.addAll(run(name, quick));
      } catch (Exception e) {
        // The other parts still run and the table still prints; the exit status says it failed.
        e.printStackTrace();
        figures.add(Figure.failed(name, e));
        failed = true;
      }
    }
    Figure.printTable(figures, quick, System.out);
    System.exit(failed ? 1 : 0);
  }

  private static List<Figure> run(String name, boolean quick) throws Exception {
    return switch (name) {
      case "e2e" -> quick
          ? new EndToEnd(10_000, 1, 2, 65_536, 2_048).run()
          // 8 warm-up rounds: with 4, the rate still rose through the last measured round (the JIT
          // compilers of three JVMs share two cores).
          : new EndToEnd(100_000, 8, 5, 65_536, 2_048).run();
      case "set" -> SetCost.run(quick);
      case "rss" -> DaemonFootprint.rss(quick ? 10_000 : 100_000, Duration.ofSeconds(quick ? 2 : 5));
      case "idle" -> List.of(DaemonFootprint.idleCpu(Duration.ofSeconds(quick ? 5 : 20)));
      case "stats" -> {
        List<Figure> f = new ArrayList<>(quick
            ? new StatsThroughput(2_000_000, 100_000, 5).run()
            : new StatsThroughput(50_000_000, 1_000_000, 20).run());
        f.addAll(StatsCost.run(quick));
        yield f;
      }
      case "bus" -> new BusBench(quick).run();
      case "bus-latency" -> new BusBench(quick).addedLatency();
      case "calls" -> new CallBench(quick).run();
      default -> throw new IllegalArgumentException(name);
    };
  }
}
