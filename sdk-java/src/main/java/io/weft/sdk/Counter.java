package io.weft.sdk;

/**
 * A handle on one number of a statistics namespace, from {@link StatsNamespace#counter(String)}:
 * the cheapest way to count (no lookup, no RPC; summed locally until the next flush). Does nothing
 * while the namespace is switched off.
 */
public interface Counter {
  /** Adds 1. */
  void increment();

  /** Adds {@code delta} (which may be negative). */
  void add(double delta);
}
