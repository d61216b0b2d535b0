package io.weft.daemon.core;

import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import io.weft.api.v1.CallError;
import io.weft.api.v1.CallResult;
import io.weft.api.v1.CallState;
import io.weft.api.v1.CancelInvocation;
import io.weft.api.v1.EndpointPolicy;
import io.weft.api.v1.EndpointSpec;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.EnvelopeKind;
import io.weft.api.v1.Peer;
import io.weft.api.v1.PeerCall;
import io.weft.api.v1.PeerResult;
import io.weft.api.v1.Route;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.InFlightCall;
import io.weft.api.v1.Invocation;
import io.weft.api.v1.Registered;
import io.weft.api.v1.RemoteError;
import io.weft.api.v1.ServeResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The broker's call duty (DESIGN §8): routes invocations to the clients serving endpoints, keeps
 * the calls in flight, and ends each exactly once — with the handler's answer, at its deadline
 * (its own or its parent's), when its caller gives up, or with a dead reply when the serving
 * client goes away. Ending a call cancels the calls made while handling it. A dead reply never
 * triggers another: nothing is sent to a server that is gone.
 *
 * <p>Broker thread only.
 */
public final class CallRouter {

    private static final Logger LOG = Logger.getLogger("calls");
    /** How often servers whose stream closed without a ServeEnded command are swept up. */
    private static final long SWEEP_INTERVAL_NS = 50_000_000L;

    private final CallSettings settings;
    private final PendingCalls pending;
    private final RouteTable routes = new RouteTable();
    private final PeerRouter peers;
    private final ChannelRouter channels;
    private final LinkedHashSet<CallServer> servers = new LinkedHashSet<>();
    private long seq;
    private long nextSweepNs;
    private long nowNs;

    private long callsIn;
    private long callsOk;
    private long callsRemoteError;
    private long callsExpired;
    private long callsCancelled;
    private long callsTargetGone;
    private long callsRefusedFull;
    private long callsRefusedPolicy;
    private long callsNoRoute;
    private long callsSlow;
    private long resultsLate;
    private long registrationsRefused;
    private long peerSpoofed;
    private long peerMalformed;
    private long peerDuplicates;
    private long peerResultsUnmatched;
    private long peerCancelsUnmatched;
    private long peerHopLimit;
    private long peerLinkFull;

    public CallRouter(CallSettings settings) {
        this.settings = settings;
        this.pending = new PendingCalls(settings.maxPending());
        CallSettings.PeerSettings p = settings.peers();
        this.peers = new PeerRouter(settings.daemonId(), p.epoch(), p.maxHops(), p.heartbeatNs(), p.deadAfterNs(), routes,
                this::onLinkDown);
        this.channels = new ChannelRouter(settings.daemonId(), p.epoch(), settings.maxReceivers(), routes, peers);
    }

    /** Applies one command of the call family. */
    public void on(CallOp op, long nowNs) {
        this.nowNs = nowNs;
        if (op instanceof CallOp.ChannelOp c) {
            channels.on(c, nowNs);
        } else if (op instanceof CallOp.Invoke i) {
            invoke(i);
        } else if (op instanceof CallOp.Result r) {
            result(r.server(), r.result());
        } else if (op instanceof CallOp.CallerGone g) {
            callerGone(g.callId(), g.deadlinePassed());
        } else if (op instanceof CallOp.Register r) {
            register(r.server(), r.endpoints());
        } else if (op instanceof CallOp.ServeEnded e) {
            endServer(e.server());
        } else if (op instanceof CallOp.FromPeer f) {
            fromPeer(f.link(), f.envelope());
        } else if (op instanceof CallOp.LinkUp u) {
            peers.linkUp(u.link(), nowNs);
        } else if (op instanceof CallOp.LinkDown d) {
            peers.linkDown(d.link(), d.why(), nowNs);
        } else if (op instanceof CallOp.ListInFlight l) {
            l.reply().accept(inFlight());
        } else if (op instanceof CallOp.ListRoutes l) {
            l.reply().accept(routeList());
        } else if (op instanceof CallOp.ListPeers l) {
            l.reply().accept(peerList());
        }
    }

    /**
     * The timer duty: fails calls whose deadline passed, warns once about slow calls, and sweeps up
     * servers whose stream closed.
     *
     * @return work done
     */
    public int expire(long nowNs, int limit) {
        this.nowNs = nowNs;
        int work = 0;
        PendingCall p;
        while (work < limit && (p = pending.earliest()) != null && p.deadlineNs - nowNs <= 0) {
            callsExpired++;
            failCall(p, deadlineError(p.scope, p.target), "DEADLINE_EXCEEDED");
            work++;
        }
        while (work < limit && (p = pending.oldestUnwarned()) != null && nowNs - p.startNs - settings.warnAfterNs() >= 0) {
            pending.warned(p);
            callsSlow++;
            LOG.warning("msg=\"slow call\" call_id=" + p.id + " target=" + p.target + " function=" + p.function
                    + " caller=" + p.callerClient + " elapsed_ms=" + (nowNs - p.startNs) / 1_000_000);
            work++;
        }
        work += peers.tick(nowNs);
        work += channels.reportOwed();
        if (nowNs - nextSweepNs >= 0) {
            nextSweepNs = nowNs + SWEEP_INTERVAL_NS;
            for (CallServer s : List.copyOf(servers)) {
                if (s.isClosed()) {
                    endServer(s);
                    work++;
                }
            }
            work += channels.sweep();
        }
        return work;
    }

    // ---- registration ----

    private void register(CallServer server, List<EndpointSpec> endpoints) {
        if (server.isClosed() || server.ended) {
            return;
        }
        if (server.registered) {
            registrationsRefused++;
            server.refuse(CallErrors.of("INVALID_ARGUMENT", ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "this stream registered its endpoints already"));
            return;
        }
        if (servers.size() >= settings.maxServers()) {
            registrationsRefused++;
            server.refuse(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "weftd serves call.max-servers Serve streams already"));
            return;
        }
        for (EndpointSpec spec : endpoints) {
            RouteTable.LocalEndpoint e = routes.local(spec.getName());
            if (e != null && e.server().isClosed()) {
                endServer(e.server());
                e = null;
            }
            if (e != null) {
                registrationsRefused++;
                server.refuse(CallErrors.of("ALREADY_EXISTS", ErrorReason.ERROR_REASON_ENDPOINT_TAKEN,
                        "endpoint '" + spec.getName() + "' is served by client '" + e.server().clientId()
                                + "' on this daemon already", Map.of("endpoint", spec.getName())));
                return;
            }
        }
        for (EndpointSpec spec : endpoints) {
            routes.addLocal(new RouteTable.LocalEndpoint(spec.getName(), Set.copyOf(spec.getFunctionsList()),
                    spec.getPolicy(), server));
            server.endpoints.add(spec.getName());
            peers.localChanged(spec.getName(), nowNs);
        }
        server.registered = true;
        servers.add(server);
        server.push(ServeResponse.newBuilder().setRegistered(Registered.newBuilder()
                .setClientId(server.clientId()).setDaemonId(settings.daemonId())).build());
        server.wake();
        LOG.fine("msg=\"serving\" client=" + server.clientId() + " endpoints=" + server.endpoints);
    }

    private void endServer(CallServer server) {
        if (server.ended) {
            return;
        }
        server.ended = true;
        servers.remove(server);
        for (String name : server.endpoints) {
            if (routes.removeLocal(name, server)) {
                peers.localChanged(name, nowNs);
            }
        }
        if (!server.calls.isEmpty()) {
            CallError gone = CallErrors.of("UNAVAILABLE", ErrorReason.ERROR_REASON_TARGET_GONE,
                    "client '" + server.clientId() + "' serving the call went away");
            for (PendingCall p : List.copyOf(server.calls)) {
                callsTargetGone++;
                failCall(p, gone, null);
            }
        }
    }

    // ---- calls ----

    private void invoke(CallOp.Invoke op) {
        callsIn++;
        CallReply reply = op.reply();
        PendingCall parent = null;
        long deadlineNs = nowNs + op.budgetNs();
        PendingCall.Scope scope = PendingCall.Scope.CALL;
        if (!op.parentCallId().isEmpty()) {
            parent = pending.get(op.parentCallId());
            if (parent == null) {
                callsCancelled++;
                reply.error(CallErrors.of("CANCELLED", ErrorReason.ERROR_REASON_CANCELLED,
                        "the parent call " + op.parentCallId() + " is no longer in flight", Map.of("scope", "parent")));
                return;
            }
            if (parent.deadlineNs - deadlineNs < 0) {
                deadlineNs = parent.deadlineNs;
                scope = PendingCall.Scope.PARENT;
            }
        }
        route(new Call(op.callId(), op.target(), op.function(), op.args(), deadlineNs, scope, parent,
                op.callerClient(), settings.daemonId(), null, List.of(), peers.maxHops(), reply));
    }

    /** A call to deliver here or forward: from a local caller, or arrived on {@code inLink}. */
    private record Call(String id, String target, String function, Value args, long deadlineNs,
            PendingCall.Scope scope, PendingCall parent, String callerClient, String origin, PeerLink inLink,
            List<String> path, int ttl, CallReply reply) {}

    private void route(Call c) {
        CallReply reply = c.reply();
        if (c.deadlineNs() - nowNs <= 0) {
            callsExpired++;
            reply.error(deadlineError(c.scope(), c.target()));
            return;
        }
        if (pending.isFull()) {
            callsRefusedFull++;
            reply.error(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "weftd has call.max-pending (" + pending.capacity() + ") calls in flight; retry with backoff"));
            return;
        }
        if (pending.get(c.id()) != null) {
            peerDuplicates++;
            reply.error(CallErrors.of("ALREADY_EXISTS", ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "call " + c.id() + " is in flight here already"));
            return;
        }
        String target = c.target();
        int at = target.indexOf('@');
        String endpoint = at < 0 ? target : target.substring(0, at);
        String daemon = at < 0 ? "" : target.substring(at + 1);
        boolean here = daemon.isEmpty() || daemon.equals(settings.daemonId());
        RouteTable.LocalEndpoint ep = here ? routes.local(endpoint) : null;
        if (ep != null && !ep.server().isClosed()) {
            deliverLocal(c, ep, endpoint);
            return;
        }
        String remoteName = daemon.isEmpty() ? routes.nearestRemote(endpoint)
                : here ? null : endpoint + "@" + daemon;
        RouteTable.Via via = remoteName == null ? null : routes.best(remoteName);
        if (via == null && !here) {
            via = routes.best(daemon);
        }
        if (via == null || via.link() == c.inLink()) {
            callsNoRoute++;
            reply.error(CallErrors.of("NOT_FOUND", ErrorReason.ERROR_REASON_NO_ROUTE,
                    "no route to endpoint '" + target + "' from " + settings.daemonId(), Map.of("target", target)));
            return;
        }
        if (c.ttl() <= 0) {
            peerHopLimit++;
            reply.error(CallErrors.of("NOT_FOUND", ErrorReason.ERROR_REASON_NO_ROUTE,
                    "the call to '" + target + "' would take more than peer.max-hops hops", Map.of("target", target)));
            return;
        }
        forward(c, via.link(), endpoint, remoteName == null ? daemon : remoteName.substring(endpoint.length() + 1));
    }

    private void deliverLocal(Call c, RouteTable.LocalEndpoint ep, String endpoint) {
        CallReply reply = c.reply();
        if (!ep.functions().contains(c.function())) {
            callsNoRoute++;
            reply.error(CallErrors.of("NOT_FOUND", ErrorReason.ERROR_REASON_UNKNOWN_FUNCTION,
                    "endpoint '" + endpoint + "' serves no function '" + c.function() + "'",
                    Map.of("endpoint", endpoint, "function", c.function())));
            return;
        }
        String via = c.inLink() == null ? settings.daemonId() : c.inLink().peerId();
        String refusal = refusal(ep.policy(), c.callerClient(), c.origin(), via);
        if (refusal != null) {
            callsRefusedPolicy++;
            reply.error(CallErrors.of("PERMISSION_DENIED", ErrorReason.ERROR_REASON_POLICY_DENIED,
                    "endpoint '" + endpoint + "' refuses this caller: " + refusal, Map.of("policy", refusal)));
            return;
        }
        CallServer server = ep.server();
        if (server.calls.size() >= settings.serveMaxInFlight()) {
            callsRefusedFull++;
            reply.error(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "client '" + server.clientId() + "' has call.serve-max-in-flight calls in flight; retry with backoff"));
            return;
        }
        Invocation inv = Invocation.newBuilder()
                .setCallId(c.id())
                .setEndpoint(endpoint)
                .setFunction(c.function())
                .setArgs(c.args())
                .setBudget(Durations.fromNanos(c.deadlineNs() - nowNs))
                .setCallerClient(c.callerClient())
                .setCallerDaemon(c.origin())
                .build();
        if (!server.push(ServeResponse.newBuilder().setInvocation(inv).build())) {
            callsRefusedFull++;
            reply.error(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "client '" + server.clientId() + "' has a full outbox"));
            return;
        }
        PendingCall p = track(c, endpoint, server, server.pushed);
        server.calls.add(p);
        server.wake();
    }

    private void forward(Call c, PeerLink link, String endpoint, String dstDaemon) {
        List<String> path = new ArrayList<>(c.path());
        path.add(settings.daemonId());
        Envelope env = peers.envelope(EnvelopeKind.ENVELOPE_KIND_CALL, dstDaemon)
                .setAuth(c.origin())
                .setCallId(c.id())
                .setBudget(Durations.fromNanos(c.deadlineNs() - nowNs))
                .setTtl(c.ttl() - 1)
                .setCall(PeerCall.newBuilder().setEndpoint(endpoint).setFunction(c.function()).setArgs(c.args())
                        .setCallerClient(c.callerClient()).addAllPath(path))
                .build();
        if (!peers.trySend(link, env, nowNs)) {
            peerLinkFull++;
            c.reply().error(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "the link to " + link.peerId() + " has a full outbox; retry with backoff"));
            return;
        }
        PendingCall p = track(c, endpoint, null, 0);
        p.outLink = link;
        link.calls.add(p);
    }

    private PendingCall track(Call c, String endpoint, CallServer server, long outboxSeq) {
        PendingCall p = new PendingCall(c.id(), ++seq, c.callerClient(), c.origin(), c.target(), endpoint,
                c.function(), nowNs, c.deadlineNs(), c.scope(), server, outboxSeq, c.reply(), c.parent());
        p.path = c.path();
        p.inLink = c.inLink();
        if (c.inLink() != null) {
            c.inLink().calls.add(p);
        }
        pending.add(p);
        if (c.parent() != null) {
            c.parent().addChild(p);
        }
        return p;
    }

    // ---- peers ----

    private void fromPeer(PeerLink link, Envelope e) {
        if (!link.up) {
            return;
        }
        switch (e.getKind()) {
            case ENVELOPE_KIND_ADD_ROUTE, ENVELOPE_KIND_DEL_ROUTE -> peers.onAdvert(link, e, nowNs);
            case ENVELOPE_KIND_CALL -> peerCall(link, e);
            case ENVELOPE_KIND_RESULT -> peerResult(link, e);
            case ENVELOPE_KIND_CANCEL -> peerCancel(link, e);
            case ENVELOPE_KIND_CHANNEL_DATA, ENVELOPE_KIND_CHANNEL_END, ENVELOPE_KIND_CHANNEL_FAIL -> peerChannel(link, e);
            case ENVELOPE_KIND_HEARTBEAT, ENVELOPE_KIND_HELLO -> { }
            default -> peerMalformed++;
        }
    }

    /**
     * Source verification (Mitogen's "bad auth_id"): a call's origin must be reachable through the
     * link it arrived on — the peer itself, or a daemon the peer advertised.
     */
    private boolean fromItsOrigin(PeerLink link, Envelope e) {
        if (e.getAuth().equals(link.peerId()) || routes.via(e.getAuth(), link) != null) {
            return true;
        }
        peerSpoofed++;
        if (peerSpoofed == 1 || Long.bitCount(peerSpoofed) == 1) {
            LOG.warning("msg=\"peer envelope dropped: its origin is not reachable through the link it arrived on\""
                    + " link=" + link.peerId() + " auth=" + e.getAuth() + " kind=" + e.getKind() + " dropped=" + peerSpoofed);
        }
        return false;
    }

    private void peerCall(PeerLink link, Envelope e) {
        if (!e.hasCall() || e.getCallId().isEmpty() || e.getCallId().length() > 300) {
            peerMalformed++;
            return;
        }
        if (!fromItsOrigin(link, e)) {
            return;
        }
        callsIn++;
        PeerCall pc = e.getCall();
        long budgetNs = e.getBudget().getSeconds() * 1_000_000_000L + e.getBudget().getNanos();
        String dst = e.getDst();
        String target = pc.getEndpoint() + "@" + dst;
        route(new Call(e.getCallId(), target, pc.getFunction(), pc.getArgs(), nowNs + budgetNs, PendingCall.Scope.CALL,
                null, pc.getCallerClient(), e.getAuth(), link, List.copyOf(pc.getPathList()), (int) e.getTtl(),
                new PeerReply(link, e.getCallId(), e.getAuth())));
    }

    private void peerChannel(PeerLink link, Envelope e) {
        if (!e.hasChannel() || e.getChannel().getHandle().indexOf('/') <= 0) {
            peerMalformed++;
            return;
        }
        if (!fromItsOrigin(link, e)) {
            return;
        }
        channels.fromPeer(link, e, nowNs);
    }

    /** Sends a call's outcome back on the link it arrived on; dropped if that link is gone. */
    private final class PeerReply implements CallReply {
        private final PeerLink link;
        private final String callId;
        private final String origin;

        PeerReply(PeerLink link, String callId, String origin) {
            this.link = link;
            this.callId = callId;
            this.origin = origin;
        }

        @Override
        public void value(Value value, String daemonId) {
            send(PeerResult.newBuilder().setValue(value).setDaemonId(daemonId).build());
        }

        @Override
        public void error(CallError error) {
            send(PeerResult.newBuilder().setError(error).setDaemonId(settings.daemonId()).build());
        }

        private void send(PeerResult r) {
            peers.send(link, peers.envelope(EnvelopeKind.ENVELOPE_KIND_RESULT, origin).setCallId(callId).setResult(r)
                    .build(), nowNs);
        }
    }

    private void peerResult(PeerLink link, Envelope e) {
        PendingCall p = pending.get(e.getCallId());
        if (p == null || p.outLink != link || !e.hasResult()) {
            peerResultsUnmatched++;
            return;
        }
        PeerResult r = e.getResult();
        if (r.hasError()) {
            if (r.getError().getReason().equals("CALL_FAILED")) {
                callsRemoteError++;
            }
            failCall(p, r.getError(), null);
            return;
        }
        callsOk++;
        detach(p);
        endChildren(p, false);
        p.reply.value(r.hasValue() ? r.getValue() : NULL, r.getDaemonId());
    }

    private void peerCancel(PeerLink link, Envelope e) {
        PendingCall p = pending.get(e.getCallId());
        if (p == null || p.inLink != link) {
            peerCancelsUnmatched++;
            return;
        }
        boolean deadline = e.getReason().equals("DEADLINE_EXCEEDED");
        if (deadline) {
            callsExpired++;
        } else {
            callsCancelled++;
        }
        abandon(p, deadline ? "DEADLINE_EXCEEDED" : "CANCELLED");
    }

    /** A link went down: calls forwarded on it get dead replies; calls that came on it are abandoned. */
    private void onLinkDown(PeerLink link, String why) {
        channels.onLinkDown(link, why, nowNs);
        if (link.calls.isEmpty()) {
            return;
        }
        CallError gone = CallErrors.of("UNAVAILABLE", ErrorReason.ERROR_REASON_TARGET_GONE,
                "the link from " + settings.daemonId() + " to " + link.peerId() + " went away (" + why + ")",
                Map.of("link", link.peerId()));
        for (PendingCall p : List.copyOf(link.calls)) {
            if (p.done) {
                continue;
            }
            if (p.outLink == link) {
                callsTargetGone++;
                failCall(p, gone, null);
            } else {
                callsCancelled++;
                abandon(p, "TARGET_GONE");
            }
        }
        link.calls.clear();
    }

    /**
     * Why a policy refuses a caller, or null when it allows it.
     *
     * @param host the daemon the call started on
     * @param viaDaemon the daemon it arrived from (this daemon for local calls)
     */
    static String refusal(EndpointPolicy policy, String client, String host, String viaDaemon) {
        if (policy.getAllowedClientsCount() > 0 && !policy.getAllowedClientsList().contains(client)) {
            return "client '" + client + "' is not in allowed_clients";
        }
        if (policy.getAllowedHostsCount() > 0 && !policy.getAllowedHostsList().contains(host)) {
            return "host '" + host + "' is not in allowed_hosts";
        }
        if (policy.getAllowedDaemonsCount() > 0 && !policy.getAllowedDaemonsList().contains(viaDaemon)) {
            return "daemon '" + viaDaemon + "' is not in allowed_daemons";
        }
        return null;
    }

    private void result(CallServer server, CallResult r) {
        PendingCall p = pending.get(r.getCallId());
        if (p == null || p.server != server) {
            resultsLate++;
            return;
        }
        if (r.hasError()) {
            callsRemoteError++;
            RemoteError e = r.getError();
            failCall(p, CallErrors.of("UNKNOWN", ErrorReason.ERROR_REASON_CALL_FAILED,
                    e.getType() + ": " + e.getMessage(),
                    Map.of("type", e.getType(), "message", e.getMessage(), "stack", e.getStack())), null);
            return;
        }
        callsOk++;
        detach(p);
        endChildren(p, false);
        p.reply.value(r.hasValue() ? r.getValue() : NULL, settings.daemonId());
    }

    private void callerGone(String callId, boolean deadlinePassed) {
        PendingCall p = pending.get(callId);
        if (p == null) {
            return;
        }
        if (deadlinePassed) {
            callsExpired++;
            failCall(p, deadlineError(p.scope, p.target), "DEADLINE_EXCEEDED");
            return;
        }
        callsCancelled++;
        failCall(p, CallErrors.of("CANCELLED", ErrorReason.ERROR_REASON_CANCELLED, "the caller cancelled the call",
                Map.of("scope", "call")), "CANCELLED");
    }

    private static final Value NULL = Value.newBuilder().setNullValueValue(0).build();

    /**
     * Ends a call with an error.
     *
     * @param cancelReason what to tell its server, or null to tell it nothing (it answered, or is gone)
     */
    private void failCall(PendingCall p, CallError error, String cancelReason) {
        detach(p);
        if (cancelReason != null) {
            cancelDownstream(p, cancelReason);
        }
        endChildren(p, error.getReason().equals("DEADLINE_EXCEEDED"));
        p.reply.error(error);
    }

    /** Ends a call whose caller is gone: the handler (or the next hop) is told; nobody is answered. */
    private void abandon(PendingCall p, String cancelReason) {
        detach(p);
        cancelDownstream(p, cancelReason);
        endChildren(p, cancelReason.equals("DEADLINE_EXCEEDED"));
    }

    private void cancelDownstream(PendingCall p, String reason) {
        if (p.server != null && !p.server.ended && !p.server.isClosed()) {
            p.server.push(ServeResponse.newBuilder().setCancel(
                    CancelInvocation.newBuilder().setCallId(p.id).setReason(reason)).build());
            p.server.wake();
        }
        if (p.outLink != null && p.outLink.up) {
            peers.send(p.outLink, peers.envelope(EnvelopeKind.ENVELOPE_KIND_CANCEL, p.outLink.peerId())
                    .setAuth(p.callerDaemon).setCallId(p.id).setReason(reason).build(), nowNs);
        }
    }

    private void detach(PendingCall p) {
        pending.remove(p);
        if (p.server != null) {
            p.server.calls.remove(p);
        }
        if (p.inLink != null) {
            p.inLink.calls.remove(p);
        }
        if (p.outLink != null) {
            p.outLink.calls.remove(p);
        }
        if (p.parent != null && p.parent.children != null) {
            p.parent.children.remove(p);
        }
    }

    /**
     * A call that ended takes the calls made while handling it with it: at its deadline they fail as
     * the parent's deadline (scope "parent"), otherwise as cancelled by the parent.
     */
    private void endChildren(PendingCall p, boolean deadlinePassed) {
        if (p.children == null || p.children.isEmpty()) {
            return;
        }
        for (PendingCall child : List.copyOf(p.children)) {
            if (deadlinePassed) {
                callsExpired++;
                failCall(child, deadlineError(PendingCall.Scope.PARENT, child.target), "DEADLINE_EXCEEDED");
            } else {
                callsCancelled++;
                failCall(child, CallErrors.of("CANCELLED", ErrorReason.ERROR_REASON_CANCELLED,
                        "the parent call " + p.id + " ended", Map.of("scope", "parent")), "CANCELLED");
            }
        }
    }

    private static CallError deadlineError(PendingCall.Scope scope, String target) {
        String which = scope == PendingCall.Scope.PARENT ? "parent" : "call";
        return CallErrors.of("DEADLINE_EXCEEDED", ErrorReason.ERROR_REASON_DEADLINE_EXCEEDED,
                scope == PendingCall.Scope.PARENT
                        ? "the parent call's deadline passed before '" + target + "' answered"
                        : "the call's deadline passed before '" + target + "' answered",
                Map.of("scope", which));
    }

    // ---- introspection ----

    private List<InFlightCall> inFlight() {
        List<PendingCall> calls = new ArrayList<>();
        pending.all().forEach(calls::add);
        calls.sort(Comparator.comparingLong(p -> p.seq));
        List<InFlightCall> out = new ArrayList<>(calls.size());
        for (PendingCall p : calls) {
            InFlightCall.Builder b = InFlightCall.newBuilder()
                    .setCallId(p.id)
                    .setCallerClient(p.callerClient)
                    .setCallerDaemon(p.callerDaemon)
                    .setTarget(p.target)
                    .setFunction(p.function)
                    .addAllPath(p.path)
                    .addPath(settings.daemonId())
                    .setElapsed(Durations.fromNanos(nowNs - p.startNs))
                    .setDeadlineLeft(Durations.fromNanos(Math.max(0, p.deadlineNs - nowNs)))
                    .setParentCallId(p.parent == null ? "" : p.parent.id);
            if (p.server != null) {
                b.setServerClient(p.server.clientId())
                        .setState(p.server.taken() >= p.outboxSeq ? CallState.CALL_STATE_RUNNING : CallState.CALL_STATE_QUEUED);
            } else if (p.outLink != null) {
                b.setState(CallState.CALL_STATE_FORWARDED);
            }
            out.add(b.build());
        }
        return out;
    }

    private List<Route> routeList() {
        List<Route> out = new ArrayList<>();
        long epoch = peers.selfEpoch();
        out.add(Route.newBuilder().setName(settings.daemonId()).setEpoch(epoch).setBest(true).build());
        routes.localNames().stream().sorted().forEach(ep -> out.add(Route.newBuilder()
                .setName(ep + "@" + settings.daemonId()).setEpoch(epoch).setBest(true).build()));
        routes.remoteNames().stream().sorted().forEach(name -> {
            RouteTable.Via best = routes.best(name);
            routes.vias(name).values().stream().sorted(Comparator.comparingInt(RouteTable.Via::hops))
                    .forEach(v -> out.add(Route.newBuilder().setName(name).setVia(v.link().peerId()).setHops(v.hops())
                            .setEpoch(v.epoch()).setBest(v == best).build()));
        });
        return out;
    }

    private List<Peer> peerList() {
        List<Peer> out = new ArrayList<>();
        for (PeerLink l : peers.links()) {
            out.add(Peer.newBuilder()
                    .setDaemonId(l.peerId())
                    .setDirection(l.dialed() ? "dialed" : "accepted")
                    .setAddress(l.address())
                    .setEpoch(l.peerEpoch())
                    .setQueued(l.depth())
                    .setCapacity(l.capacity())
                    .setSilentFor(Durations.fromNanos(Math.max(0, nowNs - l.lastHeardNs())))
                    .putCounters("sent", l.sent())
                    .putCounters("received", l.received())
                    .putCounters("calls", l.calls.size())
                    .putCounters("overflows", l.overflows)
                    .build());
        }
        return out;
    }

    /** Counters for AdminService.Info. */
    public Map<String, Long> counters() {
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("calls_in", callsIn);
        c.put("calls_ok", callsOk);
        c.put("calls_remote_error", callsRemoteError);
        c.put("calls_expired", callsExpired);
        c.put("calls_cancelled", callsCancelled);
        c.put("calls_target_gone", callsTargetGone);
        c.put("calls_refused_full", callsRefusedFull);
        c.put("calls_refused_policy", callsRefusedPolicy);
        c.put("calls_no_route", callsNoRoute);
        c.put("calls_slow", callsSlow);
        c.put("call_results_late", resultsLate);
        c.put("call_registrations_refused", registrationsRefused);
        c.put("calls_pending", (long) pending.size());
        c.put("call_servers", (long) servers.size());
        c.put("call_endpoints", (long) routes.localCount());
        c.put("peer_links_up", peers.linksUp);
        c.put("peer_links_down", peers.linksDown);
        c.put("peer_links_dead", peers.linksDead);
        c.put("peer_link_overflows", peers.linkOverflows);
        c.put("peer_links_duplicate", peers.duplicateLinks);
        c.put("peer_adverts_in", peers.advertsIn);
        c.put("peer_adverts_refused_source", peers.advertsRefusedSource);
        c.put("peer_adverts_stale", peers.advertsStale);
        c.put("peer_adverts_too_far", peers.advertsTooFar);
        c.put("peer_adverts_table_full", peers.advertsTableFull);
        c.put("peer_envelopes_spoofed", peerSpoofed);
        c.put("peer_envelopes_malformed", peerMalformed);
        c.put("peer_calls_duplicate", peerDuplicates);
        c.put("peer_results_unmatched", peerResultsUnmatched);
        c.put("peer_cancels_unmatched", peerCancelsUnmatched);
        c.put("peer_calls_hop_limit", peerHopLimit);
        c.put("peer_calls_link_full", peerLinkFull);
        c.put("routes_remote", (long) routes.remoteCount());
        channels.counters(c);
        return c;
    }

    /** Calls in flight now. */
    public int pendingCount() {
        return pending.size();
    }

    /** The most calls in flight at once. */
    public int pendingCapacity() {
        return pending.capacity();
    }
}
