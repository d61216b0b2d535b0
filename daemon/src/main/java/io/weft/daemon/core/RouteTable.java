package io.weft.daemon.core;

import io.weft.api.v1.EndpointPolicy;
import java.util.HashMap;
import java.util.Set;

/**
 * Where endpoints are (broker thread only): the endpoints served by this daemon's clients. Bounded
 * by the number of servers ({@code call.max-servers}) times the endpoints one registration may
 * carry.
 */
final class RouteTable {

    /** An endpoint served by a client of this daemon. */
    record LocalEndpoint(String name, Set<String> functions, EndpointPolicy policy, CallServer server) {}

    private final HashMap<String, LocalEndpoint> local = new HashMap<>();

    LocalEndpoint local(String name) {
        return local.get(name);
    }

    void addLocal(LocalEndpoint e) {
        local.put(e.name(), e);
    }

    /** Removes the endpoint if {@code server} still serves it. */
    void removeLocal(String name, CallServer server) {
        LocalEndpoint e = local.get(name);
        if (e != null && e.server() == server) {
            local.remove(name);
        }
    }

    int localCount() {
        return local.size();
    }
}
