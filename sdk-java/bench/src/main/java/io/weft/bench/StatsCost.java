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

/** Runs {@link StatsBenchmark} with JMH and turns its sample distributions into figures. */
final class StatsCost {
  private static final TimeValue ITERATION = TimeValue.milliseconds(500);

  private StatsCost() {}

  static List<Figure> run(boolean quick) throws Exception {
    Options options = new OptionsBuilder()
        .include(StatsBenchmark.class.getName() + "\\.")
        .forks(quick ? 1 : 2)
        .warmupIterations(quick ? 3 : 8)
        .warmupTime(ITERATION)
        .measurementIterations(quick ? 4 : 12)
        .measurementTime(ITERATION)
        .jvmArgs("-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch",
            "-Dweft.launcher.dir=" + System.getProperty("weft.launcher.dir"))
        .shouldFailOnError(true)
        .build();
    Collection<RunResult> results = new Runner(options).run();
    Map<String, Statistics> by = new HashMap<>();
    for (RunResult r : results) {
      String b = r.getParams().getBenchmark();
      by.put(b.substring(b.lastIndexOf('.') + 1), r.getPrimaryResult().getStatistics());
    }
    Statistics inc = by.get("counterIncrement");
    Statistics add = by.get("addByName");
    Statistics adder = by.get("longAdder");
    Statistics sketch = by.get("sketchEvent");
    Statistics keysOnly = by.get("sketchEventKeysOnly");
    Statistics newValues = by.get("sketchEventNewValues");
    Statistics recent = by.get("recentEvent");
    Statistics count = by.get("countByKey");
    List<Figure> figures = new ArrayList<>();
    figures.add(new Figure("stats counter.increment() p0.50", inc.getPercentile(50), "ns",
        Figure.Target.atMost(100), false, String.format("JMH SampleTime, %,d samples; p0.99 %s ns; connected client",
            inc.getN(), Figure.number(inc.getPercentile(99)))));
    figures.add(Figure.info("stats ns.add(\"Hits\", 1) p0.50", add.getPercentile(50), "ns",
        String.format("name lookup included; p0.99 %s ns", Figure.number(add.getPercentile(99)))));
    figures.add(Figure.info("LongAdder.increment() p0.50 (baseline)", adder.getPercentile(50), "ns",
        String.format("ratio increment/LongAdder %.2f", inc.getPercentile(50) / adder.getPercentile(50))));
    figures.add(new Figure("sketch update per event p0.50", sketch.getPercentile(50), "ns",
        Figure.Target.atMost(200), false, String.format("default config: 1,000 keys, 2 fields in every event; p0.99 %s ns",
            Figure.number(sketch.getPercentile(99)))));
    figures.add(Figure.info("sketch update per event, every value new p0.50", newValues.getPercentile(50), "ns",
        String.format("the worst case: both fields' values drawn from millions, so each is new to the sketch; p0.99 %s ns",
            Figure.number(newValues.getPercentile(99)))));
    figures.add(Figure.info("sketch update per event, keys only p0.50", keysOnly.getPercentile(50), "ns",
        String.format("count, distinct ids; 1,000 keys within sketch.max-keys, so heavy hitters exact; p0.99 %s ns", Figure.number(keysOnly.getPercentile(99)))));
    figures.add(Figure.info("recent cache per event p0.50", recent.getPercentile(50), "ns",
        String.format("512 keys x 100; p0.99 %s ns", Figure.number(recent.getPercentile(99)))));
    figures.add(Figure.info("HashMap count per key p0.50 (baseline)", count.getPercentile(50), "ns",
        String.format("ratio sketch/count %.2f", sketch.getPercentile(50) / count.getPercentile(50))));
    return figures;
  }
}
