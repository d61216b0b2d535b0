package io.weft.daemon.stats;

import io.weft.api.v1.SnapshotResponse;
import io.weft.daemon.core.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything of statistics that the broker thread owns: the registry and the WatchEnabled watchers.
 * Reached only through {@code Command.Stats}, whose work runs here on the broker thread.
 */
public final class StatsEngine {

    /** WatchEnabled streams served at once. */
    public static final int MAX_ENABLED_WATCHERS = 256;

    private final StatsRegistry registry;
    private final EventSketches sketches;
    private final RecentEvents recent;
    private final Clock clock;
    private final long startNs;
    private final ArrayList<EnabledWatch> watchers = new ArrayList<>();
    private long opsApplied;
    private long opsDisabled;
    private long opsRejected;
    private volatile DaemonNamespace daemon;

    /** With the default sketches (no fields, 1,024 keys) and recent cache (512 keys × 100 events of 512 bytes). */
    public StatsEngine(StatsLimits limits, Clock clock, long startNs) {
        this(limits, clock, startNs, new EventSketches(List.of(), 1024), new RecentEvents(512, 100, 512));
    }

    /**
     * @param startNs the daemon's start on {@code clock}'s monotonic scale (for uptime())
     * @param sketches the event-stream sketches
     * @param recent the recent-events cache, or null when it is off
     */
    public StatsEngine(StatsLimits limits, Clock clock, long startNs, EventSketches sketches, RecentEvents recent) {
        this.sketches = sketches;
        this.recent = recent;
        this.registry = new StatsRegistry(limits);
        this.clock = clock;
        this.startNs = startNs;
        registry.onEnabledChange(this::notifyWatchers);
    }

    /** Applies a checked batch and tells its listener. */
    public void record(StatsBatch batch) {
        long nowNs = clock.nanoTime();
        int applied = 0;
        int disabled = 0;
        List<StatsBatch.Refused> refused = List.of();
        for (int i = 0, n = batch.ops().size(); i < n; i++) {
            Rejection r = batch.refused()[i];
            if (r == null) {
                r = registry.apply(batch.ops().get(i), batch.expressions()[i], nowNs);
            }
            if (r == null) {
                applied++;
            } else if (r == Rejection.DISABLED) {
                disabled++;
            } else {
                if (refused.isEmpty()) {
                    refused = new ArrayList<>();
                }
                refused.add(new StatsBatch.Refused(i, r));
            }
        }
        opsApplied += applied;
        opsDisabled += disabled;
        opsRejected += refused.size();
        batch.listener().onApplied(batch, applied, disabled, refused);
    }

    /** Reports the daemon itself in namespace {@code weftd} from now on. Any thread, once, at start. */
    public void reportDaemon(DaemonNamespace d) {
        this.daemon = d;
    }

    /** The extrapolated report of every namespace, or of those named. */
    public SnapshotResponse snapshot(Set<String> only) {
        long nowNs = clock.nanoTime();
        DaemonNamespace d = daemon;
        if (d != null && (only.isEmpty() || only.contains(DaemonNamespace.NAME))) {
            d.refresh(registry, this, nowNs);
        }
        return registry.snapshot(only, nowNs, clock.epochNanos(), (nowNs - startNs) / 1e9);
    }

    /**
     * Switches a namespace.
     *
     * @return the switch before, or null when the namespace would pass stats.max-namespaces
     */
    public Boolean setEnabled(String namespace, boolean enabled) {
        return registry.setEnabled(namespace, enabled);
    }

    /**
     * Registers a WatchEnabled watcher and queues every current switch for it.
     *
     * @return false when {@link #MAX_ENABLED_WATCHERS} are served already
     */
    public boolean watchEnabled(EnabledWatch w) {
        watchers.removeIf(EnabledWatch::isCancelled);
        if (watchers.size() >= MAX_ENABLED_WATCHERS) {
            return false;
        }
        watchers.add(w);
        for (Map.Entry<String, Boolean> e : registry.switches().entrySet()) {
            w.offer(e.getKey(), e.getValue());
        }
        return true;
    }

    private void notifyWatchers(String namespace, boolean enabled) {
        for (Iterator<EnabledWatch> it = watchers.iterator(); it.hasNext(); ) {
            EnabledWatch w = it.next();
            if (w.isCancelled()) {
                it.remove();
            } else {
                w.offer(namespace, enabled);
            }
        }
    }

    /** Sketches and caches one applied event (called by the broker for every event it applies). */
    public void onEvent(io.weft.api.v1.ContextEvent e) {
        sketches.onEvent(e);
        if (recent != null) {
            recent.onEvent(e);
        }
    }

    /** The sketches. */
    public EventSketches sketches() {
        return sketches;
    }

    /** The recent-events cache, or null when it is off. */
    public RecentEvents recent() {
        return recent;
    }

    /** Ops applied so far. */
    public long opsApplied() {
        return opsApplied;
    }

    /** Ops skipped so far because their namespace was off. */
    public long opsDisabled() {
        return opsDisabled;
    }

    /** Ops refused so far (invalid, conflicting or over a bound). */
    public long opsRejected() {
        return opsRejected;
    }
}
