package io.weft.daemon.core;

import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.ObjectState;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Reconstructs objects from their events (DESIGN §5). Broker-owned; not thread-safe.
 *
 * <ul>
 *   <li>Live objects are kept by id, with an index by id for paging and a least-recently-updated
 *       list for expiry: idle past {@code liveTtlNs}, or the oldest beyond {@code liveMax}, are
 *       expired (state EXPIRED) — memory stays bounded.
 *   <li>{@code seq} orders and de-duplicates: an event whose seq is not above the object's last is a
 *       duplicate, as is a replay of an object already finished (an SDK resending after a
 *       reconnect). Exception: a late BORN for a partial object fills in the fields the object lacks.
 *   <li>An event for an unknown id starts a {@code partial} object.
 *   <li>FINISHED, TRANSIENT and expiry move the object to the {@link FinishedRing}.
 * </ul>
 */
final class Collator {

    /** Field names and routing keys shared between objects, at most (each). */
    static final int INTERNED_NAMES_MAX = 65_536;
    /** Distinct header maps shared between objects, at most. */
    static final int INTERNED_HEADER_SETS_MAX = 4_096;

    /** What the last {@link #apply} did; reused to keep the hot path allocation-free. */
    static final class Applied {
        /** The event as applied (seq and time filled in), or null when it was a duplicate. */
        ContextEvent event;
        /** The object after the event, while it is still live; null once it ended. */
        LiveObject live;
        /** The final object, when this event ended it. */
        ContextObject ended;
        /** The object's headers (events after BORN may carry none). */
        Map<String, String> headers;
    }

    private final int liveMax;
    private final long liveTtlNs;
    /** The header the bus stamps on every message with the publishing daemon's id. */
    static final String FLEET_HOST_HEADER = "hostname";

    private final String daemonId;
    private final Consumer<ContextObject> onExpired;
    /** Insertion-ordered: iteration is the order objects were first seen (for paging). */
    private final LinkedHashMap<String, LiveObject> live = new LinkedHashMap<>();
    private final FinishedRing finished;
    private final Applied applied = new Applied();
    private final Interner<String> names = new Interner<>(INTERNED_NAMES_MAX);
    private final Interner<String> routingKeys = new Interner<>(INTERNED_NAMES_MAX);
    private final Interner<Map<String, String>> headerSets = new Interner<>(INTERNED_HEADER_SETS_MAX);
    private long nextOrdinal;
    private LiveObject lruHead;
    private LiveObject lruTail;

    long appliedCount;
    long duplicates;
    long partials;
    long lateBirths;
    long expiredTtl;
    long expiredCap;
    long expiredBytes;
    private final long liveMaxBytes;
    private long liveBytes;

    /**
     * @param liveMaxBytes estimated memory of live objects kept (see {@link LiveObject#approxBytes})
     * @param finishedMaxBytes estimated memory of finished objects kept
     * @param daemonId stamped on collated objects; null for the fleet collator, whose objects carry
     *     the publishing daemon's id in their {@code hostname} header
     * @param onExpired told of every object expired by TTL or a cap (broker thread)
     */
    Collator(int liveMax, long liveTtlNs, long liveMaxBytes, int finishedMax, long finishedMaxBytes,
            String daemonId, Consumer<ContextObject> onExpired) {
        this.liveMax = liveMax;
        this.liveTtlNs = liveTtlNs;
        this.liveMaxBytes = liveMaxBytes;
        this.daemonId = daemonId;
        this.onExpired = onExpired;
        this.finished = new FinishedRing(finishedMax, finishedMaxBytes);
    }

    /** This daemon's id; for the fleet collator (no id of its own), the {@code hostname} the bus message carried. */
    private String daemonIdOf(LiveObject obj) {
        return daemonId != null ? daemonId : obj.headers.getOrDefault(FLEET_HOST_HEADER, "");
    }

    /**
     * Applies one validated event.
     *
     * @param nowNs the broker's monotonic time, for idle expiry
     * @param nowUnixNanos wall time, for events that carry none
     */
    Applied apply(ContextEvent event, long nowNs, long nowUnixNanos) {
        Applied a = applied;
        a.event = null;
        a.live = null;
        a.ended = null;
        a.headers = null;
        EventKind kind = event.getKind();
        LiveObject obj = live.get(event.getId());

        if (kind == EventKind.EVENT_KIND_TRANSIENT) {
            if (isReplay(event, obj)) {
                duplicates++;
                return a;
            }
            ContextEvent e = normalize(event, 1, nowUnixNanos);
            LiveObject o = new LiveObject(e.getId(), routingKeys.intern(e.getRoutingKey()), headers(e));
            o.startUnixNanos = e.getTimeUnixNanos();
            stamp(o, e, nowNs);
            o.merge(e.getFields(), names);
            return ended(a, e, o, ObjectState.OBJECT_STATE_TRANSIENT);
        }

        if (obj == null) {
            if (isReplay(event, null)) {
                duplicates++;
                return a;
            }
            ContextEvent e = normalize(event, 1, nowUnixNanos);
            obj = create(e, nowNs);
            if (kind != EventKind.EVENT_KIND_BORN) {
                obj.partial = true;
                partials++;
            }
            return applyTo(a, obj, e, nowNs);
        }

        if (event.getSeq() != 0 && event.getSeq() <= obj.lastSeq) {
            if (kind == EventKind.EVENT_KIND_BORN && obj.partial) {
                obj.mergeAbsent(event.getFields(), names);
                obj.partial = false;
                if (event.getTimeUnixNanos() != 0) {
                    obj.startUnixNanos = Math.min(obj.startUnixNanos, event.getTimeUnixNanos());
                }
                if (event.getHeadersCount() > 0) {
                    obj.headers = headers(event);
                }
                account(obj);
                lateBirths++;
                appliedCount++;
                a.event = event;
                a.live = obj;
                a.headers = obj.headers;
                return a;
            }
            duplicates++;
            return a;
        }
        ContextEvent e = normalize(event, obj.lastSeq + 1, nowUnixNanos);
        return applyTo(a, obj, e, nowNs);
    }

    private Applied applyTo(Applied a, LiveObject obj, ContextEvent e, long nowNs) {
        stamp(obj, e, nowNs);
        touch(obj);
        if (e.getHeadersCount() > 0) {
            obj.headers = headers(e);
        }
        switch (e.getKind()) {
            case EVENT_KIND_BORN, EVENT_KIND_UPDATE -> obj.merge(e.getFields(), names);
            case EVENT_KIND_LOG -> {
                obj.merge(e.getFields(), names);
                obj.lastMessage = e.getMessage();
            }
            case EVENT_KIND_DELETE -> {
                for (int i = 0; i < e.getDeletedCount(); i++) {
                    obj.fields.remove(e.getDeleted(i));
                }
            }
            case EVENT_KIND_FINISHED -> {
                obj.merge(e.getFields(), names);
                removeLive(obj);
                return ended(a, e, obj, ObjectState.OBJECT_STATE_FINISHED);
            }
            default -> throw new IllegalStateException("validated event has kind " + e.getKind());
        }
        account(obj);
        appliedCount++;
        a.event = e;
        a.live = obj;
        a.headers = obj.headers;
        return a;
    }

    private Applied ended(Applied a, ContextEvent e, LiveObject obj, ObjectState state) {
        ContextObject done = obj.snapshot(state, e.getTimeUnixNanos(), e.getTimeUnixNanos(), daemonIdOf(obj));
        finished.add(done, obj.headers, obj.approxBytes());
        appliedCount++;
        a.event = e;
        a.ended = done;
        a.headers = obj.headers;
        return a;
    }

    /**
     * True when the event replays an object that already ended: its seq is not above the ended
     * object's last, and a BORN/TRANSIENT also carries the same start time (a new object reusing a
     * custom id starts again at seq 1 but at a later time).
     */
    private boolean isReplay(ContextEvent event, LiveObject liveObj) {
        if (liveObj != null || event.getSeq() == 0) {
            return false;
        }
        FinishedRing.Entry done = finished.get(event.getId());
        if (done == null || event.getSeq() > done.lastSeq()) {
            return false;
        }
        EventKind kind = event.getKind();
        if (kind == EventKind.EVENT_KIND_BORN || kind == EventKind.EVENT_KIND_TRANSIENT) {
            return event.getTimeUnixNanos() == done.startUnixNanos();
        }
        return true;
    }

    private LiveObject create(ContextEvent e, long nowNs) {
        if (live.size() >= liveMax) {
            expiredCap++;
            expire(lruHead);
        }
        LiveObject obj = new LiveObject(e.getId(), routingKeys.intern(e.getRoutingKey()), headers(e));
        obj.ordinal = ++nextOrdinal;
        obj.startUnixNanos = e.getTimeUnixNanos();
        obj.touchedNs = nowNs;
        live.put(obj.id, obj);
        linkLast(obj);
        return obj;
    }

    private void stamp(LiveObject obj, ContextEvent e, long nowNs) {
        obj.lastSeq = e.getSeq();
        obj.updatedUnixNanos = e.getTimeUnixNanos();
        obj.touchedNs = nowNs;
        obj.eventCount++;
        if (!obj.routingKey.equals(e.getRoutingKey())) {
            obj.routingKey = routingKeys.intern(e.getRoutingKey());
        }
    }

    /** The event's headers as a shared immutable map (most objects carry the same few). */
    private Map<String, String> headers(ContextEvent e) {
        return e.getHeadersCount() == 0 ? Map.of() : headerSets.intern(Map.copyOf(e.getHeadersMap()));
    }

    private static ContextEvent normalize(ContextEvent e, long nextSeq, long nowUnixNanos) {
        if (e.getSeq() != 0 && e.getTimeUnixNanos() != 0) {
            return e;
        }
        ContextEvent.Builder b = e.toBuilder();
        if (e.getSeq() == 0) {
            b.setSeq(nextSeq);
        }
        if (e.getTimeUnixNanos() == 0) {
            b.setTimeUnixNanos(nowUnixNanos);
        }
        return b.build();
    }

    /**
     * Expires objects idle longer than the TTL, oldest first, at most {@code limit} of them.
     *
     * @return how many were expired
     */
    int expireIdle(long nowNs, int limit) {
        int n = 0;
        while (n < limit && lruHead != null && nowNs - lruHead.touchedNs - liveTtlNs > 0) {
            expiredTtl++;
            expire(lruHead);
            n++;
        }
        return n;
    }

    private void expire(LiveObject obj) {
        removeLive(obj);
        ContextObject done = obj.snapshot(ObjectState.OBJECT_STATE_EXPIRED, obj.updatedUnixNanos, 0, daemonIdOf(obj));
        finished.add(done, obj.headers, obj.approxBytes());
        onExpired.accept(done);
    }

    /**
     * Brings the live-bytes total up to date with {@code obj}'s size, then expires the least recently
     * updated objects (never {@code obj} itself) while the total is over {@code liveMaxBytes}.
     */
    private void account(LiveObject obj) {
        long now = obj.approxBytes();
        liveBytes += now - obj.accountedBytes;
        obj.accountedBytes = now;
        while (liveBytes > liveMaxBytes && lruHead != null && lruHead != obj) {
            expiredBytes++;
            expire(lruHead);
        }
    }

    private void removeLive(LiveObject obj) {
        liveBytes -= obj.accountedBytes;
        obj.accountedBytes = 0;
        live.remove(obj.id);
        unlink(obj);
    }

    private void touch(LiveObject obj) {
        if (obj != lruTail) {
            unlink(obj);
            linkLast(obj);
        }
    }

    private void linkLast(LiveObject obj) {
        obj.lruPrev = lruTail;
        obj.lruNext = null;
        if (lruTail == null) {
            lruHead = obj;
        } else {
            lruTail.lruNext = obj;
        }
        lruTail = obj;
    }

    private void unlink(LiveObject obj) {
        LiveObject prev = obj.lruPrev;
        LiveObject next = obj.lruNext;
        if (prev == null) {
            lruHead = next;
        } else {
            prev.lruNext = next;
        }
        if (next == null) {
            lruTail = prev;
        } else {
            next.lruPrev = prev;
        }
        obj.lruPrev = null;
        obj.lruNext = null;
    }

    LiveObject live(String id) {
        return live.get(id);
    }

    ContextObject finished(String id) {
        FinishedRing.Entry e = finished.get(id);
        return e == null ? null : e.object();
    }

    /** Live objects in the order they were first seen; see {@link LiveObject#ordinal}. */
    Iterable<LiveObject> liveInOrder() {
        return live.values();
    }

    /** Names, routing keys and header maps not shared because an interner was full. */
    long internOverflows() {
        return names.overflows() + routingKeys.overflows() + headerSets.overflows();
    }

    /** Estimated memory of the live objects now. */
    long liveBytes() {
        return liveBytes;
    }

    int liveCount() {
        return live.size();
    }

    int liveMax() {
        return liveMax;
    }

    FinishedRing finishedRing() {
        return finished;
    }

    ContextObject snapshot(LiveObject obj, long nowUnixNanos) {
        return obj.snapshot(ObjectState.OBJECT_STATE_LIVE, 0, nowUnixNanos, daemonIdOf(obj));
    }
}
