package io.weft.daemon.stats;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One WatchEnabled stream as the broker sees it: the namespaces it follows and the switches not yet
 * sent. Bounded: pending switches are coalesced per namespace (the latest wins), so a watcher holds
 * at most one per namespace, and namespaces are bounded by stats.max-namespaces.
 *
 * <p>Threading: the broker offers switches, the stream's writer polls them; both under this lock.
 */
public final class EnabledWatch {

    private final Set<String> only;
    private final Runnable wake;
    private final LinkedHashMap<String, Boolean> pending = new LinkedHashMap<>();
    private volatile boolean cancelled;

    /**
     * @param only namespaces followed; empty = all
     * @param wake called (on the broker thread, must not block) after switches were added
     */
    public EnabledWatch(Set<String> only, Runnable wake) {
        this.only = Set.copyOf(only);
        this.wake = wake;
    }

    void offer(String namespace, boolean enabled) {
        if (!only.isEmpty() && !only.contains(namespace)) {
            return;
        }
        synchronized (this) {
            pending.remove(namespace);
            pending.put(namespace, enabled);
        }
        wake.run();
    }

    /** Takes the oldest pending switch, or null. Any thread. */
    public synchronized Map.Entry<String, Boolean> poll() {
        var it = pending.entrySet().iterator();
        if (!it.hasNext()) {
            return null;
        }
        Map.Entry<String, Boolean> first = it.next();
        Map.Entry<String, Boolean> e = Map.entry(first.getKey(), first.getValue());
        it.remove();
        return e;
    }

    /** The stream ended; the broker forgets the watcher. */
    public void cancel() {
        cancelled = true;
    }

    boolean isCancelled() {
        return cancelled;
    }
}
