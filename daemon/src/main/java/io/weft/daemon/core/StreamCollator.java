package io.weft.daemon.core;

import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The collator outside the daemon ({@code weft mon -c} over the bus or a saved file): the same
 * collation rules, fed by one thread. Objects get the publishing daemon's id from their
 * {@code hostname} header, as in the fleet view.
 */
public final class StreamCollator {

    private static final long TTL_NS = 3_600_000_000_000L;
    private static final long MAX_BYTES = 1L << 30;
    private static final int FINISHED_MAX = 1;
    private static final int EXPIRY_LIMIT = 1024;

    private final Collator collator;
    private final List<ContextObject> out = new ArrayList<>();

    /** @param liveMax live objects kept; beyond it the least recently updated one is emitted as expired */
    public StreamCollator(int liveMax) {
        this.collator = new Collator(liveMax, TTL_NS, MAX_BYTES, FINISHED_MAX, MAX_BYTES, null, out::add);
    }

    /**
     * Applies one event.
     *
     * @return the objects it completed: the object it finished (or the transient one), and any
     *     that expired to make room
     */
    public List<ContextObject> apply(ContextEvent event) {
        out.clear();
        long nowNs = System.nanoTime();
        Collator.Applied a = collator.apply(event, nowNs, System.currentTimeMillis() * 1_000_000L);
        collator.expireIdle(nowNs, EXPIRY_LIMIT);
        if (a.ended != null) {
            out.add(a.ended);
        }
        return List.copyOf(out);
    }
}
