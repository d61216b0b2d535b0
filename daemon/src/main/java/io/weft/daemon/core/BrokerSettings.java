package io.weft.daemon.core;

/**
 * What the broker needs to know, decoupled from how configuration is read.
 *
 * @param daemonId this daemon's id, stamped on collated objects
 * @param inboundDrainLimit commands taken from the inbound queue per duty cycle
 * @param clientDrainLimit commands of one client per duty cycle before the next client is served
 * @param slowCycleNs a duty cycle longer than this is logged and counted
 * @param liveMax live objects kept; beyond it the least recently updated expires
 * @param liveTtlNs a live object idle longer than this expires
 * @param liveMaxBytes estimated memory of live objects; beyond it the least recently updated expire
 * @param finishedMax finished objects kept for views
 * @param finishedMaxBytes estimated memory of finished objects; beyond it the oldest are evicted
 * @param maxWatchers watch streams served at once
 * @param maxPendingFlushes flushes waiting at once
 */
public record BrokerSettings(
        String daemonId,
        int inboundDrainLimit,
        int clientDrainLimit,
        long slowCycleNs,
        int liveMax,
        long liveTtlNs,
        long liveMaxBytes,
        int finishedMax,
        long finishedMaxBytes,
        int maxWatchers,
        int maxPendingFlushes) {

    /** Live objects expired per duty cycle at most, so a mass expiry cannot stall the broker. */
    static final int EXPIRY_DRAIN_LIMIT = 1024;

    /** How often the status seen by other threads is republished. */
    static final long STATUS_INTERVAL_NS = 100_000_000L;
}
