package io.weft.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * One line of the final summary: a measured value, the target it is held against (if any),
 * and the verdict. A figure measured while something was lost (SDK drops, daemon drops,
 * watcher lag) is {@code flagged}: its verdict says so whatever the value.
 *
 * @param name what was measured
 * @param value the measured value, in {@code unit}; NaN when the measurement failed
 * @param unit e.g. {@code "ev/s"}, {@code "ns"}; empty for a plain ratio
 * @param target the bound it is held against, or null for a figure given for information
 * @param flagged true when the measurement is distorted by losses (see {@code note})
 * @param note context printed beside the figure
 */
record Figure(String name, double value, String unit, Target target, boolean flagged, String note) {

  /** A bound: at least, at most, or strictly below a value. */
  record Target(String sign, double bound) {
    static Target atLeast(double bound) {
      return new Target(">=", bound);
    }

    static Target atMost(double bound) {
      return new Target("<=", bound);
    }

    static Target below(double bound) {
      return new Target("<", bound);
    }

    boolean met(double value) {
      return switch (sign) {
        case ">=" -> value >= bound;
        case "<=" -> value <= bound;
        default -> value < bound;
      };
    }
  }

  static Figure info(String name, double value, String unit, String note) {
    return new Figure(name, value, unit, null, false, note);
  }

  /** A measurement that did not complete: no value, verdict FAILED. */
  static Figure failed(String name, Throwable why) {
    String message = String.valueOf(why.getMessage()).lines().findFirst().orElse("");
    return new Figure(name, Double.NaN, "", null, true, why.getClass().getSimpleName() + ": " + message);
  }

  String verdict() {
    if (Double.isNaN(value)) {
      return "FAILED";
    }
    if (flagged) {
      return "FLAGGED";
    }
    if (target == null) {
      return "info";
    }
    return target.met(value) ? "pass" : "short";
  }

  /** Prints the figures as an aligned table. */
  static void printTable(List<Figure> figures, boolean quick, PrintStream out) {
    String format = "%-44s %18s %16s  %-7s  %s%n";
    out.println();
    out.println("==== Summary" + (quick ? " (QUICK run: reduced sizes, verdicts indicative only)" : "")
        + " ====");
    out.printf(format, "figure", "measured", "target", "verdict", "note");
    for (Figure f : figures) {
      String target = f.target == null ? "-" : f.target.sign + " " + number(f.target.bound) + unit(f.unit);
      String measured = Double.isNaN(f.value) ? "-" : number(f.value) + unit(f.unit);
      out.printf(format, f.name, measured, target, f.verdict(), f.note);
    }
  }

  /** Thousands separated; two decimals below 100 (ratios, percentages, MiB). */
  static String number(double v) {
    return Math.abs(v) < 100 ? String.format(Locale.ROOT, "%.2f", v) : String.format(Locale.ROOT, "%,.0f", v);
  }

  private static String unit(String unit) {
    return unit.isEmpty() ? "" : " " + unit;
  }
}
