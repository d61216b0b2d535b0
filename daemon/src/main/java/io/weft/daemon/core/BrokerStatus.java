package io.weft.daemon.core;

import java.util.List;
import java.util.Map;

/**
 * An immutable picture of broker-owned state, republished every {@link
 * BrokerSettings#STATUS_INTERVAL_NS} so that admin RPCs never have to queue behind traffic.
 *
 * @param liveObjects live objects now
 * @param finishedObjects objects in the finished ring now
 * @param carriedCommands commands held back by the fairness limit
 * @param pendingFlushes flushes waiting for sinks
 * @param watchers the watchers now
 * @param counters broker counters by name (events applied, duplicates, expired...)
 * @param cycleP50Ns median duty-cycle time over the last report interval (busy cycles only)
 * @param cycleP99Ns 99th percentile of the same
 * @param cycleMaxNs maximum of the same
 */
public record BrokerStatus(
        int liveObjects,
        int finishedObjects,
        int carriedCommands,
        int pendingFlushes,
        List<Watcher> watchers,
        Map<String, Long> counters,
        long cycleP50Ns,
        long cycleP99Ns,
        long cycleMaxNs) {

    static final BrokerStatus EMPTY = new BrokerStatus(0, 0, 0, 0, List.of(), Map.of(), 0, 0, 0);
}
