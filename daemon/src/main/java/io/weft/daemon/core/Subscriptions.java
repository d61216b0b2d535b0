package io.weft.daemon.core;

import com.google.protobuf.Struct;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The broker's watchers, and the fan-out of events and objects to them. Broker-owned. */
final class Subscriptions {

    private final ArrayList<Watcher> watchers = new ArrayList<>();
    private final int maxWatchers;
    /** Items handed to watchers so far (events, objects, snapshots). */
    long delivered;

    Subscriptions(int maxWatchers) {
        this.maxWatchers = maxWatchers;
    }

    boolean add(Watcher w) {
        if (watchers.size() >= maxWatchers) {
            return false;
        }
        watchers.add(w);
        return true;
    }

    List<Watcher> all() {
        return watchers;
    }

    /**
     * Fans one applied event out: MESSAGES watchers get the raw event (when {@code messages}; the
     * fleet view hands raw bus messages only to the watch that consumed them, see
     * {@link #deliverRaw}); OBJECTS watchers get the object when it ended, or a live snapshot when
     * they asked for live objects.
     */
    void onApplied(Collator.Applied a, Collator collator, long nowUnixNanos, boolean messages) {
        if (watchers.isEmpty()) {
            return;
        }
        ContextEvent event = a.event;
        String routingKey = event.getRoutingKey();
        Map<String, String> headers = a.headers;
        ContextObject liveSnapshot = null;
        boolean removeCancelled = false;
        for (int i = 0, n = watchers.size(); i < n; i++) {
            Watcher w = watchers.get(i);
            if (w.isCancelled()) {
                removeCancelled = true;
                continue;
            }
            if (!w.selector().matches(routingKey, headers)) {
                continue;
            }
            if (w.mode() == WatchMode.WATCH_MODE_MESSAGES) {
                if (messages) {
                    deliver(w, WatchResponse.newBuilder().setMessage(project(w, event)).build());
                }
            } else if (a.ended != null) {
                deliverObject(w, a.ended);
            } else if (w.includeLive() && a.live != null) {
                if (liveSnapshot == null) {
                    liveSnapshot = collator.snapshot(a.live, nowUnixNanos);
                }
                deliverObject(w, liveSnapshot);
            }
        }
        if (removeCancelled) {
            removeCancelled();
        }
    }

    /** Objects expired by TTL or cap go to OBJECTS watchers like finished ones. */
    void onExpired(ContextObject obj) {
        for (int i = 0, n = watchers.size(); i < n; i++) {
            Watcher w = watchers.get(i);
            if (!w.isCancelled()
                    && w.mode() == WatchMode.WATCH_MODE_OBJECTS
                    && w.selector().matches(obj.getRoutingKey(), obj.getHeadersMap())) {
                deliverObject(w, obj);
            }
        }
    }

    /** Sends a new OBJECTS watcher that asked for them the live objects it matches, up to its capacity. */
    void sendInitialLive(Watcher w, Collator collator, long nowUnixNanos) {
        int budget = w.capacity();
        for (LiveObject obj : collator.liveInOrder()) {
            if (budget == 0) {
                break;
            }
            if (w.selector().matches(obj.routingKey, obj.headers)) {
                deliverObject(w, collator.snapshot(obj, nowUnixNanos));
                budget--;
            }
        }
    }

    /** Hands one raw event to one MESSAGES watcher, when its filter matches. */
    static void deliverRaw(Watcher w, ContextEvent event) {
        if (!w.isCancelled() && w.mode() == WatchMode.WATCH_MODE_MESSAGES
                && w.selector().matches(event.getRoutingKey(), event.getHeadersMap())) {
            push(w, WatchResponse.newBuilder().setMessage(project(w, event)).build());
        }
    }

    int removeCancelled() {
        int before = watchers.size();
        watchers.removeIf(Watcher::isCancelled);
        return before - watchers.size();
    }

    private void deliverObject(Watcher w, ContextObject obj) {
        if (!w.selector().matchesState(obj.getState())) {
            return;
        }
        ContextObject out = obj;
        if (!w.projector().isIdentity()) {
            out = obj.toBuilder().setFields(w.projector().apply(obj.getFields())).build();
        }
        deliver(w, WatchResponse.newBuilder().setObject(out).build());
    }

    private static ContextEvent project(Watcher w, ContextEvent event) {
        if (w.projector().isIdentity()) {
            return event;
        }
        Struct projected = w.projector().apply(event.getFields());
        return event.toBuilder().setFields(projected).build();
    }

    /** Delivers a locally applied item, counted in {@link #delivered}. */
    private void deliver(Watcher w, WatchResponse item) {
        delivered++;
        push(w, item);
    }

    private static void push(Watcher w, WatchResponse item) {
        w.push(item);
        w.wake();
    }
}
