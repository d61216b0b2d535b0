package io.weft.sdk;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@link Weft#inParallel} had failures: one error listing each (by the call's index), with the
 * reason of the first.
 */
public final class ParallelCallError extends WeftException {
  private static final long serialVersionUID = 1L;

  private final SortedMap<Integer, CallError> failures;

  ParallelCallError(SortedMap<Integer, CallError> failures, int calls) {
    super(failures.get(failures.firstKey()).reason(),
        io.grpc.Status.ABORTED.withDescription(describe(failures, calls)), Map.of(), null);
    this.failures = new TreeMap<>(failures);
  }

  private static String describe(SortedMap<Integer, CallError> failures, int calls) {
    StringBuilder b = new StringBuilder().append(failures.size()).append(" of ").append(calls).append(" calls failed:");
    failures.forEach((i, e) -> b.append(" [").append(i).append("] ").append(e.target()).append(": ")
        .append(e.reason()).append(" (").append(e.status().getDescription()).append(");"));
    return b.toString();
  }

  /** Each failure by the index of its call. */
  public SortedMap<Integer, CallError> failures() {
    return failures;
  }
}
