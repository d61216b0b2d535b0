package io.weft.daemon.core;

/**
 * What the call router needs to know (DESIGN §8).
 *
 * @param daemonId this daemon's id: the {@code @daemon} of local endpoints
 * @param maxPending calls in flight on this daemon at once; beyond, calls fail with QUEUE_FULL
 * @param serveMaxInFlight calls one serving client may have at once; beyond, QUEUE_FULL
 * @param maxServers Serve streams registered at once; beyond, registration fails with QUEUE_FULL
 * @param warnAfterNs a call still in flight after this long is logged once and counted
 * @param peers the bounds and timers of peer links
 * @param maxReceivers channel receivers open on this daemon at once; beyond, opening fails with QUEUE_FULL
 */
public record CallSettings(String daemonId, int maxPending, int serveMaxInFlight, int maxServers, long warnAfterNs,
        PeerSettings peers, int maxReceivers) {

    /**
     * The broker's side of peer links.
     *
     * @param epoch this daemon's epoch: a new one each start (adverts of an older epoch lose)
     * @param maxHops the longest route accepted, and the most hops a call travels
     * @param heartbeatNs a link that sent nothing for this long sends a heartbeat
     * @param deadAfterNs a link that heard nothing for this long is closed
     */
    public record PeerSettings(long epoch, int maxHops, long heartbeatNs, long deadAfterNs) {}

    /** Calls expired (or warned about) per duty cycle at most. */
    static final int EXPIRY_DRAIN_LIMIT = 1024;

    /** Settings for a broker that only collates (tests of other duties). */
    public static CallSettings defaults(String daemonId) {
        return new CallSettings(daemonId, 65_536, 1024, 4096, 1_000_000_000L,
                new PeerSettings(1, 8, 500_000_000L, 2_000_000_000L), 10_000);
    }
}
