package io.weft.daemon.it;

import static io.weft.daemon.it.Api.reason;
import static io.weft.daemon.it.RawServer.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallResponse;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.CallState;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.EnvelopeKind;
import io.weft.api.v1.Hello;
import io.weft.api.v1.InFlightCall;
import io.weft.api.v1.InFlightRequest;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.Invocation;
import io.weft.api.v1.PeerCall;
import io.weft.api.v1.PeerServiceGrpc;
import io.weft.api.v1.PeersRequest;
import io.weft.api.v1.Route;
import io.weft.api.v1.RoutesRequest;
import io.weft.daemon.testing.Certs;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Peer daemons over mTLS on loopback (DESIGN §8 "Peers"): chains, a triangle, failures, refusals. */
class PeersIT {

    private static Certs certs;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void makeCertificates() throws IOException {
        certs = Certs.create();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A daemon with id {@code id}, listening for peers on {@code port} (0: not at all), dialing {@code peers}. */
    private WeftdProcess daemon(String id, int port, List<Integer> peers, Map<String, String> extra) throws IOException {
        WeftdProcess.Builder b = WeftdProcess.builder().env("WEFT_DAEMON_ID", id);
        certs.env(id).forEach(b::env);
        if (port != 0) {
            b.env("WEFT_PEER_LISTEN", "127.0.0.1:" + port);
        }
        if (!peers.isEmpty()) {
            b.env("WEFT_PEERS", String.join(",", peers.stream().map(p -> "127.0.0.1:" + p).toList()));
        }
        extra.forEach(b::env);
        WeftdProcess d = b.start();
        open.add(d);
        return d;
    }

    private static List<Route> routes(WeftdProcess d) {
        return AdminServiceGrpc.newBlockingStub(d.channel()).routes(RoutesRequest.getDefaultInstance()).getRoutesList();
    }

    private static Route bestRoute(WeftdProcess d, String name) {
        return routes(d).stream().filter(r -> r.getName().equals(name) && r.getBest()).findFirst().orElse(null);
    }

    private static long counter(WeftdProcess d, String name) {
        return AdminServiceGrpc.newBlockingStub(d.channel()).info(InfoRequest.getDefaultInstance())
                .getCountersOrDefault(name, 0);
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    private static CallResponse call(WeftdProcess d, String target, String fn) {
        return CallServiceGrpc.newBlockingStub(d.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
                .call(CallRequest.newBuilder().setTarget(target).setFunction(fn).setArgs(str("hi")).build());
    }

    private static CompletableFuture<Throwable> callAsync(WeftdProcess d, String target, String fn, long ms) {
        CompletableFuture<Throwable> f = new CompletableFuture<>();
        CallServiceGrpc.newStub(d.channel()).withDeadlineAfter(ms, TimeUnit.MILLISECONDS)
                .call(CallRequest.newBuilder().setTarget(target).setFunction(fn).build(), new StreamObserver<>() {
                    @Override
                    public void onNext(CallResponse value) {}

                    @Override
                    public void onError(Throwable t) {
                        f.complete(t);
                    }

                    @Override
                    public void onCompleted() {
                        f.complete(null);
                    }
                });
        return f;
    }

    private RawServer serve(WeftdProcess d, String name, java.util.function.Function<Invocation, io.weft.api.v1.CallResult> h)
            throws Exception {
        RawServer s = new RawServer(d.channel(), name + "-server", h, endpoint(name, "f")).awaitRegistered();
        open.add(s);
        return s;
    }

    @Test
    void shouldCallOneAndTwoHopsAlongAChainAndCancelAcrossThem() throws Exception {
        int pb = freePort();
        WeftdProcess b = daemon("B", pb, List.of(), Map.of());
        WeftdProcess a = daemon("A", 0, List.of(pb), Map.of());
        WeftdProcess c = daemon("C", 0, List.of(pb), Map.of());
        serve(c, "atc", inv -> RawServer.value(inv, str("from C: " + inv.getCallerDaemon())));
        serve(b, "atb", inv -> RawServer.value(inv, str("from B")));
        Poll.until(Duration.ofSeconds(10), () -> bestRoute(a, "atc@C") != null, "A learns C's endpoint");
        assertEquals(2, bestRoute(a, "atc@C").getHops());
        assertEquals("B", bestRoute(a, "atc@C").getVia());
        assertEquals(1, bestRoute(a, "B").getHops());

        assertEquals("from B", call(a, "atb", "f").getValue().getStringValue());
        CallResponse two = call(a, "atc@C", "f");
        assertEquals("from C: A", two.getValue().getStringValue());
        assertEquals("C", two.getDaemonId());
        assertEquals("from C: A", call(a, "atc", "f").getValue().getStringValue(), "nearest first: the only one");
        StatusRuntimeException missing = assertThrows(StatusRuntimeException.class, () -> call(a, "atc@B", "f"));
        assertEquals("NO_ROUTE", reason(missing));

        // A call in flight over two hops is listed on the middle daemon, and cancelling it reaches C's handler.
        RawServer hang = serve(c, "hang", null);
        Poll.until(Duration.ofSeconds(10), () -> bestRoute(a, "hang@C") != null, "A learns hang@C");
        io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
        CompletableFuture<Throwable>[] outcome = new CompletableFuture[1];
        ctx.run(() -> outcome[0] = callAsync(a, "hang@C", "f", 30_000));
        Invocation inv = hang.nextInvocation(Duration.ofSeconds(10));
        assertEquals("A", inv.getCallerDaemon());
        assertTrue(Durations.toMillis(inv.getBudget()) > 20_000, "the budget travels: " + inv.getBudget());
        InFlightCall atB = AdminServiceGrpc.newBlockingStub(b.channel()).inFlight(InFlightRequest.getDefaultInstance())
                .getCallsList().stream().filter(x -> x.getCallId().equals(inv.getCallId())).findFirst().orElseThrow();
        assertEquals(CallState.CALL_STATE_FORWARDED, atB.getState());
        assertEquals(List.of("A", "B"), atB.getPathList());
        ctx.cancel(null);
        Poll.until(Duration.ofSeconds(5), () -> hang.cancels.containsKey(inv.getCallId()), "the cancel reaches C");
        assertEquals(Status.Code.CANCELLED, Status.fromThrowable(outcome[0].get(5, TimeUnit.SECONDS)).getCode());
    }

    @Test
    void shouldAnswerDeadRepliesWithdrawRoutesAndRecoverWhenTheMiddleDaemonDies() throws Exception {
        int pb = freePort();
        WeftdProcess b = daemon("B", pb, List.of(), Map.of());
        WeftdProcess a = daemon("A", 0, List.of(pb), Map.of("WEFT_PEER_RECONNECT_MAX", "200ms"));
        WeftdProcess c = daemon("C", 0, List.of(pb), Map.of("WEFT_PEER_RECONNECT_MAX", "200ms"));
        serve(c, "svc", null);
        Poll.until(Duration.ofSeconds(10), () -> bestRoute(a, "svc@C") != null, "A learns svc@C");
        CompletableFuture<Throwable> pending = callAsync(a, "svc@C", "f", 30_000);
        Poll.until(Duration.ofSeconds(10), () -> counter(c, "calls_pending") == 1, "the call reached C");

        long killedAt = System.nanoTime();
        b.kill9();
        Throwable dead = pending.get(5, TimeUnit.SECONDS);
        long deadMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(dead).getCode());
        assertEquals("TARGET_GONE", reason((StatusRuntimeException) dead));
        assertTrue(deadMs < 1000, "dead reply after " + deadMs + " ms");
        Poll.until(Duration.ofSeconds(2), () -> bestRoute(a, "svc@C") == null && bestRoute(a, "C") == null,
                "A's routes to C are withdrawn within 2 s");
        Poll.until(Duration.ofSeconds(5), () -> counter(c, "calls_pending") == 0, "C's handler call is abandoned");

        b.waitForExit(Duration.ofSeconds(10));
        b.restart();
        Poll.until(Duration.ofSeconds(15), () -> bestRoute(a, "svc@C") != null, "the routes return with B");
        RawServer echo = serve(c, "echo", inv -> RawServer.value(inv, str("back")));
        Poll.until(Duration.ofSeconds(10), () -> bestRoute(a, "echo@C") != null, "A learns echo@C");
        assertEquals("back", call(a, "echo@C", "f").getValue().getStringValue());
        assertFalse(echo.invocations.isEmpty());
    }

    @Test
    void shouldDetectASilentPeerWithinTwoSecondsByHeartbeats() throws Exception {
        int pb = freePort();
        WeftdProcess b = daemon("B", pb, List.of(), Map.of());
        WeftdProcess a = daemon("A", 0, List.of(pb), Map.of());
        Poll.until(Duration.ofSeconds(10), () -> bestRoute(a, "B") != null, () -> "A links to B\n" + a.output() + "\nB:\n" + b.output());
        signal("STOP", b.pid());
        try {
            long stoppedAt = System.nanoTime();
            Poll.until(Duration.ofSeconds(5), () -> bestRoute(a, "B") == null, "A gives B up");
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
            assertTrue(ms <= 2500, "dead link detected after " + ms + " ms (peer.dead-after 2s)");
            Poll.until(Duration.ofSeconds(5), () -> counter(a, "peer_links_dead") >= 1, "counted as a dead link");
        } finally {
            signal("CONT", b.pid());
        }
        Poll.until(Duration.ofSeconds(15), () -> bestRoute(a, "B") != null, "A links to B again");
    }

    private static void signal(String sig, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start();
        assertEquals(0, p.waitFor());
    }

    @Test
    void shouldRouteDirectlyInATriangleAndAroundALostDaemon() throws Exception {
        int pa = freePort();
        int pb = freePort();
        int pc = freePort();
        WeftdProcess a = daemon("A", pa, List.of(pb), Map.of());
        WeftdProcess b = daemon("B", pb, List.of(pc), Map.of());
        WeftdProcess c = daemon("C", pc, List.of(pa), Map.of());
        serve(c, "tri", inv -> RawServer.value(inv, str("C")));
        Poll.until(Duration.ofSeconds(10), () -> bestRoute(a, "tri@C") != null && bestRoute(b, "tri@C") != null,
                "A and B learn tri@C");
        assertEquals(1, bestRoute(a, "tri@C").getHops(), "direct, not through B");
        assertEquals("C", call(a, "tri", "f").getValue().getStringValue());
        b.kill9();
        Poll.until(Duration.ofSeconds(5), () -> bestRoute(a, "B") == null, "B's route is withdrawn");
        assertEquals("C", call(a, "tri@C", "f").getValue().getStringValue());
    }

    @Test
    void shouldKeepOneLinkWhenTwoDaemonsDialEachOther() throws Exception {
        int pa = freePort();
        int pb = freePort();
        WeftdProcess a = daemon("A", pa, List.of(pb), Map.of());
        WeftdProcess b = daemon("B", pb, List.of(pa), Map.of());
        serve(b, "both", inv -> RawServer.value(inv, str("B")));
        Poll.until(Duration.ofSeconds(10), () -> counter(a, "peer_links_duplicate") + counter(b, "peer_links_duplicate") >= 1
                && bestRoute(a, "both@B") != null, "one duplicate refused, the other link kept");
        assertEquals("B", call(a, "both@B", "f").getValue().getStringValue());
        for (WeftdProcess d : List.of(a, b)) {
            List<io.weft.api.v1.Peer> peers = AdminServiceGrpc.newBlockingStub(d.channel())
                    .peers(PeersRequest.getDefaultInstance()).getPeersList();
            assertEquals(1, peers.size(), peers.toString());
        }
        assertEquals("dialed", AdminServiceGrpc.newBlockingStub(a.channel()).peers(PeersRequest.getDefaultInstance())
                .getPeers(0).getDirection(), "the link A (the smaller id) dialled is kept");
    }

    @Test
    void shouldRefuseACertificateThatDoesNotMatchTheHelloAndPlaintext() throws Exception {
        int pb = freePort();
        WeftdProcess b = daemon("B", pb, List.of(), Map.of());
        // Daemon "X" presents the certificate of "Y".
        WeftdProcess.Builder liar = WeftdProcess.builder().env("WEFT_DAEMON_ID", "X")
                .env("WEFT_PEERS", "127.0.0.1:" + pb);
        certs.env("Y").forEach(liar::env);
        WeftdProcess x = liar.start();
        open.add(x);
        Poll.until(Duration.ofSeconds(10), () -> counter(b, "errors_PEER_AUTH_FAILED") >= 1, "B refuses X");
        assertTrue(AdminServiceGrpc.newBlockingStub(b.channel()).peers(PeersRequest.getDefaultInstance()).getPeersList()
                .isEmpty(), "no link to the liar");
        assertTrue(b.output().contains("the hello names daemon 'X' but the certificate names 'Y'"), b.output());

        // A plaintext daemon cannot link to a TLS listener.
        WeftdProcess plain = WeftdProcess.builder().env("WEFT_DAEMON_ID", "P").env("WEFT_PEER_PLAINTEXT", "1")
                .env("WEFT_PEERS", "127.0.0.1:" + pb).start();
        open.add(plain);
        Poll.until(Duration.ofSeconds(10), () -> plain.output().contains("msg=\"peer link not established\"")
                || counter(b, "errors_PEER_AUTH_FAILED") >= 1, () -> "the plaintext dial fails\n" + plain.output());
        assertEquals(0, AdminServiceGrpc.newBlockingStub(plain.channel()).peers(PeersRequest.getDefaultInstance())
                .getPeersCount());
        assertTrue(AdminServiceGrpc.newBlockingStub(b.channel()).peers(PeersRequest.getDefaultInstance()).getPeersList()
                .isEmpty(), "B links to nobody");

        // Without certificates and without peer.plaintext, weftd refuses to start.
        ProcessBuilder pbld = new ProcessBuilder(WeftdProcess.launcherDir().resolve("weftd").toString(), "--check-config",
                "--peers=127.0.0.1:" + pb).redirectErrorStream(true);
        pbld.environment().keySet().removeIf(k -> k.startsWith("WEFT_"));
        Process check = pbld.start();
        String out = new String(check.getInputStream().readAllBytes());
        assertEquals(2, check.waitFor(), out);
        assertTrue(out.contains("peer links need mTLS"), out);
    }

    @Test
    void shouldDropAndCountAnEnvelopeWithASpoofedOrigin() throws Exception {
        int pb = freePort();
        WeftdProcess b = daemon("B", pb, List.of(), Map.of());
        WeftdProcess a = daemon("A", 0, List.of(pb), Map.of());
        RawServer target = serve(b, "vault", inv -> RawServer.value(inv, str("opened for " + inv.getCallerDaemon())));
        Poll.until(Duration.ofSeconds(10), () -> bestRoute(b, "A") != null, "A is linked");

        certs.env("rogue");
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", pb)
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient()
                        .keyManager(certs.cert("rogue").toFile(), certs.key("rogue").toFile())
                        .trustManager(certs.ca().toFile()), SslProvider.OPENSSL).build())
                .build();
        open.add(ch::shutdownNow);
        LinkedBlockingQueue<Envelope> received = new LinkedBlockingQueue<>();
        StreamObserver<Envelope> link = PeerServiceGrpc.newStub(ch).link(new StreamObserver<>() {
            @Override
            public void onNext(Envelope e) {
                received.add(e);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
        });
        link.onNext(Envelope.newBuilder().setKind(EnvelopeKind.ENVELOPE_KIND_HELLO).setSrc("rogue").setAuth("rogue")
                .setHello(Hello.newBuilder().setDaemonId("rogue").setEpoch(1)).build());
        Envelope hello = received.poll(10, TimeUnit.SECONDS);
        assertEquals("B", hello.getHello().getDaemonId());
        Poll.until(Duration.ofSeconds(10), () -> AdminServiceGrpc.newBlockingStub(b.channel())
                .peers(PeersRequest.getDefaultInstance()).getPeersList().stream()
                .anyMatch(p -> p.getDaemonId().equals("rogue")), "the rogue is linked");

        long before = counter(b, "peer_envelopes_spoofed");
        link.onNext(call("spoofed", "A"));
        Poll.until(Duration.ofSeconds(5), () -> counter(b, "peer_envelopes_spoofed") == before + 1, "dropped and counted");
        link.onNext(call("honest", "rogue"));
        Envelope result = null;
        for (Envelope e; (e = received.poll(10, TimeUnit.SECONDS)) != null; ) {
            if (e.getKind() == EnvelopeKind.ENVELOPE_KIND_RESULT) {
                result = e;
                break;
            }
        }
        assertEquals("honest", result.getCallId());
        assertEquals("opened for rogue", result.getResult().getValue().getStringValue());
        assertEquals(1, target.invocations.size(), "only the honest call reached the handler");
        link.onCompleted();
    }

    @Test
    void shouldSpendTheBudgetInTransitAndCapNestedCallsAcrossHops() throws Exception {
        int pb = freePort();
        WeftdProcess b = daemon("B", pb, List.of(), Map.of());
        WeftdProcess a = daemon("A", 0, List.of(pb), Map.of());
        WeftdProcess c = daemon("C", 0, List.of(pb), Map.of());
        RawServer far = serve(c, "far", null);
        RawServer relay = serve(a, "relay", null);
        Poll.until(Duration.ofSeconds(10), () -> bestRoute(a, "far@C") != null && bestRoute(c, "relay@A") != null,
                "A and C learn each other's endpoints");

        // C calls relay@A (two hops) with 1.5 s; what arrives at A is less: the budget travels as what is left.
        CompletableFuture<Throwable> outer = callAsync(c, "relay@A", "f", 1500);
        Invocation parent = relay.nextInvocation(Duration.ofSeconds(10));
        long budgetMs = Durations.toMillis(parent.getBudget());
        assertTrue(budgetMs > 0 && budgetMs < 1500, "budget at the handler after two hops: " + budgetMs + " ms");
        assertEquals("C", parent.getCallerDaemon());

        // The handler on A calls far@C (two hops back) asking for 20 s: the parent's remainder wins.
        StatusRuntimeException nested = assertThrows(StatusRuntimeException.class, () ->
                CallServiceGrpc.newBlockingStub(a.channel()).withDeadlineAfter(20, TimeUnit.SECONDS)
                        .call(CallRequest.newBuilder().setTarget("far@C").setFunction("f")
                                .setParentCallId(parent.getCallId()).build()));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, nested.getStatus().getCode());
        assertEquals("DEADLINE_EXCEEDED", reason(nested));
        assertEquals("parent", meta(nested).get("scope"));
        Invocation inner = far.nextInvocation(Duration.ofSeconds(5));
        assertTrue(Durations.toMillis(inner.getBudget()) < budgetMs, "the nested call got the parent's remainder");
        Poll.until(Duration.ofSeconds(5), () -> far.cancels.containsKey(inner.getCallId()),
                "the nested handler on C is told to stop");
        assertEquals(Status.Code.DEADLINE_EXCEEDED, Status.fromThrowable(outer.get(10, TimeUnit.SECONDS)).getCode());
    }

    private static Map<String, String> meta(StatusRuntimeException e) {
        return io.grpc.protobuf.StatusProto.fromThrowable(e).getDetailsList().stream()
                .filter(x -> x.is(com.google.rpc.ErrorInfo.class))
                .map(x -> {
                    try {
                        return x.unpack(com.google.rpc.ErrorInfo.class).getMetadataMap();
                    } catch (com.google.protobuf.InvalidProtocolBufferException bad) {
                        throw new IllegalStateException(bad);
                    }
                }).findFirst().orElse(Map.of());
    }

    private static Envelope call(String id, String auth) {
        return Envelope.newBuilder().setKind(EnvelopeKind.ENVELOPE_KIND_CALL).setDst("B").setSrc("rogue").setAuth(auth)
                .setCallId(id).setTtl(4).setBudget(Durations.fromSeconds(10))
                .setCall(PeerCall.newBuilder().setEndpoint("vault").setFunction("f").setArgs(str("x")).addPath(auth))
                .build();
    }
}
