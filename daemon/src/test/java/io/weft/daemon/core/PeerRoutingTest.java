package io.weft.daemon.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import io.weft.api.v1.CallError;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.EnvelopeKind;
import io.weft.api.v1.Route;
import io.weft.api.v1.RouteAdvert;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Route adverts and link liveness in the call router, on the test thread with a hand-driven clock. */
class PeerRoutingTest {

    private static final long MS = 1_000_000L;
    private final CallRouter router = new CallRouter(new CallSettings("A", 100, 10, 10, 1000 * MS,
            new CallSettings.PeerSettings(7, 3, 500 * MS, 2000 * MS), 100));
    private long now = 1_000 * MS;
    private final List<String> closed = new ArrayList<>();

    private PeerLink link(String peer) {
        PeerLink l = new PeerLink(peer, 1, true, peer + ":1", 256, new PeerLink.Transport() {
            @Override
            public void wake() {}

            @Override
            public void close(String why) {
                closed.add(peer + ": " + why);
            }
        }, now);
        router.on(new CallOp.LinkUp(l), now);
        return l;
    }

    private void advert(PeerLink l, EnvelopeKind kind, String name, int hops, long epoch) {
        l.heard(now);
        router.on(new CallOp.FromPeer(l, Envelope.newBuilder().setKind(kind).setSrc(l.peerId()).setDst("A")
                .setRoute(RouteAdvert.newBuilder().setName(name).setHops(hops).setOriginEpoch(epoch)).build()), now);
    }

    private static List<String> sent(PeerLink l) {
        List<String> out = new ArrayList<>();
        for (Envelope e; (e = l.poll()) != null; ) {
            if (e.hasRoute()) {
                out.add(e.getKind().name().replace("ENVELOPE_KIND_", "") + " " + e.getRoute().getName() + " "
                        + e.getRoute().getHops() + " " + e.getRoute().getOriginEpoch());
            }
        }
        return out;
    }

    private List<Route> routes() {
        AtomicReference<List<Route>> r = new AtomicReference<>();
        router.on(new CallOp.ListRoutes(r::set), now);
        return r.get();
    }

    private Route best(String name) {
        return routes().stream().filter(x -> x.getName().equals(name) && x.getBest()).findFirst().orElse(null);
    }

    @Test
    void shouldAdvertiseWithSplitHorizonAndTheHopLimit() {
        PeerLink b = link("B");
        assertEquals(List.of("ADD_ROUTE A 0 7"), sent(b), "a new link hears this daemon first");
        PeerLink d = link("D");
        sent(d);
        advert(b, EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE, "C", 1, 5);
        assertEquals(2, best("C").getHops());
        assertEquals(List.of(), sent(b), "split horizon: never back to where it came from");
        assertEquals(List.of("ADD_ROUTE C 2 5"), sent(d));
        advert(b, EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE, "far", 2, 5);
        assertEquals(3, best("far").getHops());
        assertEquals(List.of(), sent(d), "3 hops from A is 4 from D: beyond peer.max-hops");
        advert(b, EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE, "farther", 3, 5);
        assertEquals(null, best("farther"), "beyond peer.max-hops");
    }

    @Test
    void shouldKeepTheNewEpochWhenAnOldWithdrawalArrivesLate() {
        PeerLink b = link("B");
        PeerLink d = link("D");
        advert(b, EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE, "C", 0, 1);
        advert(d, EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE, "C", 1, 2);
        assertEquals("D", best("C").getVia(), "the newer epoch wins over fewer hops");
        advert(d, EnvelopeKind.ENVELOPE_KIND_DEL_ROUTE, "C", 0, 1);
        assertEquals("D", best("C").getVia(), "a withdrawal of the old epoch does not remove the new route");
        assertEquals(1L, router.counters().get("peer_adverts_stale"));
        advert(d, EnvelopeKind.ENVELOPE_KIND_DEL_ROUTE, "C", 0, 2);
        assertEquals("B", best("C").getVia());
    }

    @Test
    void shouldRefuseAdvertsNotFromTheDirectPeer() {
        PeerLink b = link("B");
        b.heard(now);
        router.on(new CallOp.FromPeer(b, Envelope.newBuilder().setKind(EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE)
                .setSrc("X").setRoute(RouteAdvert.newBuilder().setName("C").setOriginEpoch(1)).build()), now);
        assertEquals(null, best("C"));
        assertEquals(1L, router.counters().get("peer_adverts_refused_source"));
    }

    @Test
    void shouldCloseASilentLinkWithdrawItsRoutesAndFailItsCalls() {
        PeerLink b = link("B");
        PeerLink d = link("D");
        advert(b, EnvelopeKind.ENVELOPE_KIND_ADD_ROUTE, "svc@C", 1, 3);
        sent(d);
        AtomicReference<CallError> error = new AtomicReference<>();
        router.on(new CallOp.Invoke("1", "svc@C", "f", Value.getDefaultInstance(), 10_000 * MS, "", "c",
                new CallReply() {
                    @Override
                    public void value(Value v, String daemonId) {}

                    @Override
                    public void error(CallError e) {
                        error.set(e);
                    }
                }), now);
        now += 1500 * MS;
        d.heard(now);
        router.expire(now, 100);
        assertTrue(closed.isEmpty());
        now += 600 * MS;
        router.expire(now, 100);
        assertEquals(1, closed.size(), closed.toString());
        assertTrue(closed.get(0).startsWith("B: nothing heard"));
        assertEquals("TARGET_GONE", error.get().getReason());
        assertEquals(null, best("svc@C"));
        assertEquals(List.of("DEL_ROUTE svc@C 0 3"), sent(d).stream().filter(s -> s.contains("svc")).toList());
    }
}
