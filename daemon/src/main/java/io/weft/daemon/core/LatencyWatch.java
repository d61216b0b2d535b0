package io.weft.daemon.core;

import java.util.logging.Logger;
import org.HdrHistogram.Histogram;

/**
 * Times the broker's busy duty cycles (DESIGN §3): keeps a histogram per report interval, counts
 * cycles slower than the threshold, and logs the first slow cycle and then at most one summary a
 * minute, naming the duty that took longest. Broker-owned.
 */
final class LatencyWatch {

    private static final Logger LOG = Logger.getLogger("broker");
    private static final long SUMMARY_INTERVAL_NS = 60_000_000_000L;
    private static final long REPORT_INTERVAL_NS = 10_000_000_000L;

    private final long slowCycleNs;
    private Histogram current = new Histogram(3_600_000_000_000L, 2);
    private Histogram last = new Histogram(3_600_000_000_000L, 2);
    private long intervalStartNs;
    private long slowCycles;
    private long slowSinceSummary;
    private long worstSinceSummaryNs;
    private String worstDuty = "";
    private long lastSummaryNs;
    private boolean loggedFirst;

    LatencyWatch(long slowCycleNs, long nowNs) {
        this.slowCycleNs = slowCycleNs;
        this.intervalStartNs = nowNs;
        this.lastSummaryNs = nowNs;
    }

    /**
     * Records one busy cycle.
     *
     * @param longestDuty the duty that took most of it
     * @param longestDutyNs how long that duty took
     */
    void onCycle(long startNs, long endNs, String longestDuty, long longestDutyNs, int work) {
        long tookNs = endNs - startNs;
        current.recordValue(Math.max(0, Math.min(tookNs, current.getHighestTrackableValue())));
        if (tookNs > slowCycleNs) {
            slowCycles++;
            slowSinceSummary++;
            if (tookNs > worstSinceSummaryNs) {
                worstSinceSummaryNs = tookNs;
                worstDuty = longestDuty;
            }
            if (!loggedFirst) {
                loggedFirst = true;
                LOG.warning(String.format(
                        "msg=\"slow broker cycle\" took_ms=%.3f duty=%s duty_ms=%.3f work=%d threshold_ms=%.3f",
                        tookNs / 1e6, longestDuty, longestDutyNs / 1e6, work, slowCycleNs / 1e6));
                lastSummaryNs = endNs;
                slowSinceSummary = 0;
                worstSinceSummaryNs = 0;
            }
        }
        if (endNs - intervalStartNs - REPORT_INTERVAL_NS > 0) {
            Histogram t = last;
            last = current;
            current = t;
            current.reset();
            intervalStartNs = endNs;
        }
        if (slowSinceSummary > 0 && endNs - lastSummaryNs - SUMMARY_INTERVAL_NS > 0) {
            LOG.warning(String.format(
                    "msg=\"slow broker cycles\" count=%d worst_ms=%.3f worst_duty=%s",
                    slowSinceSummary, worstSinceSummaryNs / 1e6, worstDuty));
            slowSinceSummary = 0;
            worstSinceSummaryNs = 0;
            lastSummaryNs = endNs;
        }
    }

    long slowCycles() {
        return slowCycles;
    }

    /** The last full report interval, or the current one before the first is complete. */
    Histogram recent() {
        return last.getTotalCount() > 0 ? last : current;
    }
}
