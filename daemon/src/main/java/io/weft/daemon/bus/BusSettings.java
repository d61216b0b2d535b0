package io.weft.daemon.bus;

import io.weft.daemon.config.BusFormat;
import io.weft.daemon.config.BusPolicy;
import io.weft.daemon.config.WeftConfig;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What the bus publisher and monitors need from the configuration.
 *
 * @param urls the RabbitMQ nodes, tried in turn
 * @param exchange the topic exchange
 * @param format the wire format
 * @param policy drop or spool
 * @param capacity events queued in memory
 * @param maxUnconfirmed messages awaiting a confirm at most
 * @param batchMaxEvents events per batch message at most
 * @param reconnectMax the longest back-off between connection attempts
 * @param monitorMaxLength the x-max-length of monitor queues
 * @param monitorDeadLetterMaxLength the x-max-length of the queue their drops are counted from
 * @param fleetPatterns routing-key patterns the fleet view always follows (may be empty)
 * @param spoolDir the spool's directory (with the spool policy)
 * @param spoolMaxBytes the spool's bound
 * @param spoolSegmentBytes the size of one spool file
 * @param spoolForceInterval how often the spool is forced to disk
 */
public record BusSettings(
        List<URI> urls,
        String exchange,
        BusFormat format,
        BusPolicy policy,
        int capacity,
        int maxUnconfirmed,
        int batchMaxEvents,
        Duration reconnectMax,
        int monitorMaxLength,
        int monitorDeadLetterMaxLength,
        List<String> fleetPatterns,
        Optional<Path> spoolDir,
        long spoolMaxBytes,
        long spoolSegmentBytes,
        Duration spoolForceInterval) {

    /** Reads the bus settings of a configuration. */
    public static BusSettings from(WeftConfig c) {
        return new BusSettings(c.busUrls(), c.busExchange(), c.busFormat(), c.busPolicy(), c.busCapacity(),
                c.busMaxUnconfirmed(), c.busBatchMaxEvents(), c.busReconnectMax(), c.busMonitorMaxLength(),
                c.busMonitorDeadLetterMaxLength(),
                c.busFleetPatterns(), c.spoolDir(), c.spoolMaxBytes(), c.spoolSegmentBytes(), c.spoolFsyncInterval());
    }

    /** True when a bus is configured. */
    public boolean enabled() {
        return !urls.isEmpty();
    }
}
