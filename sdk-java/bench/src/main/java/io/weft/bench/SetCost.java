package io.weft.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.Statistics;

/**
 * Runs {@link SetBenchmark} with JMH and turns its sample distributions into figures: the
 * median and p0.99 of each benchmark, and the ratio of {@code set} to its baseline.
 */
final class SetCost {
  /**
   * Short iterations bound what {@code set} can pile up in the SDK's buffer between two
   * flushes (see {@link SetBenchmark#BUFFER}); many of them and several forks make the median
   * stable on 2 noisy cores.
   */
  static final TimeValue ITERATION = TimeValue.milliseconds(200);

  private SetCost() {}

  static List<Figure> run(boolean quick) throws Exception {
    Options options = new OptionsBuilder()
        .include(SetBenchmark.class.getName() + "\\.")
        .forks(quick ? 1 : 3)
        .warmupIterations(quick ? 3 : 10)
        .warmupTime(ITERATION)
        .measurementIterations(quick ? 5 : 20)
        .measurementTime(ITERATION)
        // A fixed, pre-touched heap: the page faults of a growing heap would otherwise dominate
        // the tail (measured on set: p0.99 ~10 us with a growing heap, ~0.5 us pre-touched).
        .jvmArgs("-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch",
            // The forked JVMs start weftd too: they need to know where its launcher is.
            "-Dweft.launcher.dir=" + System.getProperty("weft.launcher.dir"))
        .shouldFailOnError(true)
        .build();
    Collection<RunResult> results = new Runner(options).run();
    Map<String, Statistics> byName = new HashMap<>();
    for (RunResult r : results) {
      String benchmark = r.getParams().getBenchmark();
      byName.put(benchmark.substring(benchmark.lastIndexOf('.') + 1), r.getPrimaryResult().getStatistics());
    }
    Statistics set = byName.get("set");
    Statistics full = byName.get("setWhenBufferFull");
    Statistics build = byName.get("buildEvent");
    String samples = String.format("JMH SampleTime, %,d samples", set.getN());
    List<Figure> figures = new ArrayList<>();
    figures.add(new Figure("set p0.50 (accepted path)", set.getPercentile(50), "ns",
        Figure.Target.atMost(300), false, samples + "; 0 dropped (checked)"));
    figures.add(Figure.info("set p0.99 (accepted path)", set.getPercentile(99), "ns", ""));
    figures.add(Figure.info("setWhenBufferFull p0.50 (drop path)", full.getPercentile(50), "ns",
        String.format("p0.99 %s ns", Figure.number(full.getPercentile(99)))));
    figures.add(Figure.info("buildEvent p0.50 (baseline)", build.getPercentile(50), "ns", String.format(
        "ContextEvent.newBuilder()...build(); p0.99 %s ns", Figure.number(build.getPercentile(99)))));
    figures.add(Figure.info("ratio set/buildEvent (p0.50)",
        set.getPercentile(50) / build.getPercentile(50), "",
        String.format("p0.99 ratio %.2f", set.getPercentile(99) / build.getPercentile(99))));
    return figures;
  }
}
