package io.weft.daemon.core;

import io.weft.api.v1.Envelope;
import io.weft.api.v1.EnvelopeKind;
import io.weft.api.v1.RouteAdvert;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.logging.Logger;

/**
 * The peer links and the distance-vector routes over them (DESIGN §8, "Peers"), broker thread only.
 *
 * <p>For every name (this daemon's id, {@code endpoint@daemon}) each link is told what this daemon
 * knows: hops 0 for its own names, else the best route's hops — except on the link the best route
 * goes through (split horizon) and beyond the hop limit. {@link #sync} compares that with what the
 * link was told last and sends only the difference, so adverts always precede the traffic that
 * depends on them and a withdrawal follows a lost route at once. Adverts are accepted only from
 * the peer that sent them on its own link; an advert of an older epoch than the route held is
 * ignored (a daemon that restarted and re-linked before its old withdrawal arrived keeps its new
 * routes).
 */
final class PeerRouter {

    private static final Logger LOG = Logger.getLogger("peers");

    /** What a link was last told about a name. */
    private record Advertised(int hops, long epoch) {}

    private final String selfId;
    private final long selfEpoch;
    private final int maxHops;
    private final long heartbeatNs;
    private final long deadAfterNs;
    private final RouteTable routes;
    /** Told when a link goes down (to fail the calls on it), with why. */
    private final BiConsumer<PeerLink, String> onDown;
    private final LinkedHashMap<Long, PeerLink> links = new LinkedHashMap<>();
    /** Reused by {@link #tick}; grows to the most links there have been. */
    private PeerLink[] tickSnapshot = new PeerLink[0];
    private final Map<PeerLink, Map<String, Advertised>> told = new LinkedHashMap<>();

    long advertsIn;
    long advertsRefusedSource;
    long advertsStale;
    long advertsTooFar;
    long advertsTableFull;
    long linksUp;
    long linksDown;
    long linksDead;
    long linkOverflows;
    long duplicateLinks;

    PeerRouter(String selfId, long selfEpoch, int maxHops, long heartbeatNs, long deadAfterNs, RouteTable routes,
            BiConsumer<PeerLink, String> onDown) {
        this.selfId = selfId;
        this.selfEpoch = selfEpoch;
        this.maxHops = maxHops;
        this.heartbeatNs = heartbeatNs;
        this.deadAfterNs = deadAfterNs;
        this.routes = routes;
        this.onDown = onDown;
    }

    int maxHops() {
        return maxHops;
    }

    long selfEpoch() {
        return selfEpoch;
    }

    Iterable<PeerLink> links() {
        return links.values();
    }

    /** A link finished its hello: a newer link from the same peer replaces an older one. */
    void linkUp(PeerLink link, long nowNs) {
        if (link.isClosed() || link.down) {
            return;
        }
        for (PeerLink old : List.copyOf(links.values())) {
            if (!old.peerId().equals(link.peerId())) {
                continue;
            }
            if (old.peerEpoch() == link.peerEpoch() && old.dialed() != link.dialed()) {
                // Both daemons dialled each other: both keep the link the smaller daemon id dialled.
                boolean keepNew = link.dialed() == (selfId.compareTo(link.peerId()) < 0);
                if (!keepNew) {
                    duplicateLinks++;
                    link.down = true;
                    link.closeTransport("duplicate link: the one dialled by the smaller daemon id is kept");
                    return;
                }
            }
            old.closeTransport("replaced by a newer link from the same peer");
            linkDown(old, "replaced by a newer link", nowNs);
        }
        link.up = true;
        link.lastPushNs = nowNs;
        links.put(link.id(), link);
        told.put(link, new LinkedHashMap<>());
        linksUp++;
        LOG.info("msg=\"peer link up\" peer=" + link.peerId() + " epoch=" + link.peerEpoch() + " address="
                + link.address() + (link.dialed() ? " direction=dialed" : " direction=accepted"));
        for (String name : allNames()) {
            sync(name, link, nowNs);
        }
        link.wake();
    }

    void linkDown(PeerLink link, String why, long nowNs) {
        if (!link.up) {
            link.down = true;
            return;
        }
        link.up = false;
        link.down = true;
        links.remove(link.id());
        told.remove(link);
        linksDown++;
        LOG.info("msg=\"peer link down\" peer=" + link.peerId() + " why=\"" + why + "\"");
        onDown.accept(link, why);
        for (String name : routes.removeLink(link)) {
            syncAll(name, nowNs);
        }
    }

    /** ADD_ROUTE or DEL_ROUTE from a link. */
    void onAdvert(PeerLink link, Envelope e, long nowNs) {
        advertsIn++;
        if (!e.getSrc().equals(link.peerId()) || !e.hasRoute()) {
            advertsRefusedSource++;
            return;
        }
        RouteAdvert r = e.getRoute();
        String name = r.getName();
        if (isLocal(name)) {
            return;
        }
        RouteTable.Via held = routes.via(name, link);
        if (held != null && held.epoch() > r.getOriginEpoch()) {
            advertsStale++;
            return;
        }
        if (e.getKind() == EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE) {
            int hops = r.getHops() + 1;
            if (hops > maxHops) {
                advertsTooFar++;
                routes.remove(name, link);
            } else if (!routes.put(name, new RouteTable.Via(link, hops, r.getOriginEpoch()))) {
                advertsTableFull++;
                return;
            }
        } else {
            routes.remove(name, link);
        }
        syncAll(name, nowNs);
    }

    /** A local endpoint came or went: tell every link. */
    void localChanged(String endpoint, long nowNs) {
        syncAll(endpoint + "@" + selfId, nowNs);
    }

    /**
     * Heartbeats and liveness: a link silent for {@code deadAfterNs} is closed and goes down.
     *
     * @return work done
     */
    int tick(long nowNs) {
        int n = links.size();
        if (n == 0) {
            return 0;
        }
        int work = 0;
        // A snapshot (linkDown changes the map) into a reused array: this runs on every broker cycle.
        PeerLink[] snapshot = links.values().toArray(tickSnapshot);
        tickSnapshot = snapshot;
        for (int i = 0; i < n; i++) {
            PeerLink l = snapshot[i];
            snapshot[i] = null;
            if (l.isClosed()) {
                linkDown(l, "stream ended", nowNs);
                work++;
            } else if (nowNs - l.lastHeardNs() - deadAfterNs > 0) {
                linksDead++;
                l.closeTransport("nothing heard for " + (nowNs - l.lastHeardNs()) / 1_000_000 + " ms");
                linkDown(l, "nothing heard for " + (nowNs - l.lastHeardNs()) / 1_000_000 + " ms", nowNs);
                work++;
            } else if (nowNs - l.lastPushNs - heartbeatNs >= 0) {
                send(l, envelope(EnvelopeKind.ENVELOPE_KIND_HEARTBEAT, l.peerId()).build(), nowNs);
                work++;
            }
        }
        return work;
    }

    /** Sends on a link. A full outbox closes the link (it reconnects and re-synchronises). */
    boolean send(PeerLink l, Envelope e, long nowNs) {
        if (!l.up) {
            return false;
        }
        if (!l.push(e, nowNs)) {
            linkOverflows++;
            l.closeTransport("outbox full");
            linkDown(l, "outbox full", nowNs);
            return false;
        }
        l.wake();
        return true;
    }

    /** Sends a call on a link; a full outbox refuses the call instead of closing the link. */
    boolean trySend(PeerLink l, Envelope e, long nowNs) {
        if (!l.up || !l.push(e, nowNs)) {
            return false;
        }
        l.wake();
        return true;
    }

    Envelope.Builder envelope(EnvelopeKind kind, String dst) {
        return Envelope.newBuilder().setKind(kind).setDst(dst).setSrc(selfId).setAuth(selfId).setEpoch(selfEpoch);
    }

    private boolean isLocal(String name) {
        return name.equals(selfId) || name.endsWith("@" + selfId);
    }

    private Set<String> allNames() {
        Set<String> names = new HashSet<>(routes.remoteNames());
        names.add(selfId);
        for (String ep : routes.localNames()) {
            names.add(ep + "@" + selfId);
        }
        return names;
    }

    private void syncAll(String name, long nowNs) {
        for (PeerLink l : List.copyOf(links.values())) {
            sync(name, l, nowNs);
        }
    }

    /** Tells {@code link} what changed about {@code name} since it was last told. */
    private void sync(String name, PeerLink link, long nowNs) {
        Map<String, Advertised> t = told.get(link);
        if (t == null) {
            return;
        }
        Advertised want = desired(name, link);
        Advertised have = t.get(name);
        if (want == null ? have == null : want.equals(have)) {
            return;
        }
        RouteAdvert.Builder r = RouteAdvert.newBuilder().setName(name);
        Envelope.Builder e;
        if (want == null) {
            t.remove(name);
            e = envelope(EnvelopeKind.ENVELOPE_KIND_DEL_ROUTE, link.peerId()).setRoute(r.setOriginEpoch(have.epoch()));
        } else {
            t.put(name, want);
            e = envelope(EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE, link.peerId())
                    .setRoute(r.setHops(want.hops()).setOriginEpoch(want.epoch()));
        }
        send(link, e.build(), nowNs);
    }

    private Advertised desired(String name, PeerLink link) {
        if (name.equals(selfId)) {
            return new Advertised(0, selfEpoch);
        }
        if (name.endsWith("@" + selfId)) {
            String ep = name.substring(0, name.length() - selfId.length() - 1);
            return routes.local(ep) != null ? new Advertised(0, selfEpoch) : null;
        }
        RouteTable.Via best = routes.best(name);
        if (best == null || best.link() == link || best.hops() + 1 > maxHops) {
            return null;
        }
        return new Advertised(best.hops(), best.epoch());
    }

    List<PeerLink> upLinks() {
        return new ArrayList<>(links.values());
    }
}
