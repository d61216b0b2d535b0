package io.weft.daemon.core;

import io.weft.api.v1.EndpointPolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where endpoints and daemons are (broker thread only): the endpoints this daemon's clients serve,
 * and the routes learnt from peers — for each name ({@code daemon} or {@code endpoint@daemon}) one
 * entry per link it was advertised on. The best route is the newest epoch, then the fewest hops.
 * Remote routes are bounded by {@link #MAX_REMOTE_NAMES}; adverts beyond are refused and counted.
 */
final class RouteTable {

    /** Remote names kept at most. */
    static final int MAX_REMOTE_NAMES = 100_000;

    /** An endpoint served by a client of this daemon. */
    record LocalEndpoint(String name, Set<String> functions, EndpointPolicy policy, CallServer server) {}

    /** A way to a remote name: through {@code link}, {@code hops} away (1 = the peer itself). */
    record Via(PeerLink link, int hops, long epoch) {}

    private final HashMap<String, LocalEndpoint> local = new HashMap<>();
    private final HashMap<String, HashMap<PeerLink, Via>> remote = new HashMap<>();
    /** Endpoint name → the daemons remote routes reach it on. */
    private final HashMap<String, Set<String>> daemonsByEndpoint = new HashMap<>();

    LocalEndpoint local(String name) {
        return local.get(name);
    }

    void addLocal(LocalEndpoint e) {
        local.put(e.name(), e);
    }

    /** Removes the endpoint if {@code server} still serves it; true if it did. */
    boolean removeLocal(String name, CallServer server) {
        LocalEndpoint e = local.get(name);
        if (e != null && e.server() == server) {
            local.remove(name);
            return true;
        }
        return false;
    }

    int localCount() {
        return local.size();
    }

    Set<String> localNames() {
        return local.keySet();
    }

    // ---- remote ----

    Via best(String name) {
        HashMap<PeerLink, Via> vias = remote.get(name);
        if (vias == null) {
            return null;
        }
        Via best = null;
        for (Via v : vias.values()) {
            if (best == null || v.epoch() > best.epoch()
                    || (v.epoch() == best.epoch() && (v.hops() < best.hops()
                        || (v.hops() == best.hops() && v.link().id() < best.link().id())))) {
                best = v;
            }
        }
        return best;
    }

    Via via(String name, PeerLink link) {
        HashMap<PeerLink, Via> vias = remote.get(name);
        return vias == null ? null : vias.get(link);
    }

    /** @return false when the table is full and the name is new */
    boolean put(String name, Via v) {
        HashMap<PeerLink, Via> vias = remote.get(name);
        if (vias == null) {
            if (remote.size() >= MAX_REMOTE_NAMES) {
                return false;
            }
            vias = new HashMap<>(2);
            remote.put(name, vias);
            int at = name.indexOf('@');
            if (at > 0) {
                daemonsByEndpoint.computeIfAbsent(name.substring(0, at), k -> new HashSet<>()).add(name.substring(at + 1));
            }
        }
        vias.put(v.link(), v);
        return true;
    }

    void remove(String name, PeerLink link) {
        HashMap<PeerLink, Via> vias = remote.get(name);
        if (vias != null && vias.remove(link) != null && vias.isEmpty()) {
            remote.remove(name);
            int at = name.indexOf('@');
            if (at > 0) {
                Set<String> ds = daemonsByEndpoint.get(name.substring(0, at));
                if (ds != null) {
                    ds.remove(name.substring(at + 1));
                    if (ds.isEmpty()) {
                        daemonsByEndpoint.remove(name.substring(0, at));
                    }
                }
            }
        }
    }

    /** Forgets every route through {@code link}; returns the names affected. */
    List<String> removeLink(PeerLink link) {
        List<String> affected = new ArrayList<>();
        for (Map.Entry<String, HashMap<PeerLink, Via>> e : remote.entrySet()) {
            if (e.getValue().containsKey(link)) {
                affected.add(e.getKey());
            }
        }
        for (String name : affected) {
            remove(name, link);
        }
        return affected;
    }

    /** The nearest daemon serving {@code endpoint} through a peer, as {@code endpoint@daemon}, or null. */
    String nearestRemote(String endpoint) {
        Set<String> ds = daemonsByEndpoint.get(endpoint);
        if (ds == null) {
            return null;
        }
        String bestName = null;
        Via bestVia = null;
        for (String d : ds) {
            String name = endpoint + "@" + d;
            Via v = best(name);
            if (v != null && (bestVia == null || v.hops() < bestVia.hops()
                    || (v.hops() == bestVia.hops() && name.compareTo(bestName) < 0))) {
                bestVia = v;
                bestName = name;
            }
        }
        return bestName;
    }

    Set<String> remoteNames() {
        return remote.keySet();
    }

    Map<PeerLink, Via> vias(String name) {
        HashMap<PeerLink, Via> vias = remote.get(name);
        return vias == null ? Map.of() : vias;
    }

    int remoteCount() {
        return remote.size();
    }
}
