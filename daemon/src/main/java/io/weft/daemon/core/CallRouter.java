package io.weft.daemon.core;

import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import io.weft.api.v1.CallError;
import io.weft.api.v1.CallResult;
import io.weft.api.v1.CallState;
import io.weft.api.v1.CancelInvocation;
import io.weft.api.v1.EndpointPolicy;
import io.weft.api.v1.EndpointSpec;
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

    public CallRouter(CallSettings settings) {
        this.settings = settings;
        this.pending = new PendingCalls(settings.maxPending());
    }

    /** Applies one command of the call family. */
    public void on(CallOp op, long nowNs) {
        this.nowNs = nowNs;
        if (op instanceof CallOp.Invoke i) {
            invoke(i);
        } else if (op instanceof CallOp.Result r) {
            result(r.server(), r.result());
        } else if (op instanceof CallOp.CallerGone g) {
            callerGone(g.callId(), g.deadlinePassed());
        } else if (op instanceof CallOp.Register r) {
            register(r.server(), r.endpoints());
        } else if (op instanceof CallOp.ServeEnded e) {
            endServer(e.server());
        } else if (op instanceof CallOp.ListInFlight l) {
            l.reply().accept(inFlight());
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
        if (nowNs - nextSweepNs >= 0) {
            nextSweepNs = nowNs + SWEEP_INTERVAL_NS;
            for (CallServer s : List.copyOf(servers)) {
                if (s.isClosed()) {
                    endServer(s);
                    work++;
                }
            }
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
            routes.removeLocal(name, server);
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
        if (deadlineNs - nowNs <= 0) {
            callsExpired++;
            reply.error(deadlineError(scope, op.target()));
            return;
        }
        if (pending.isFull()) {
            callsRefusedFull++;
            reply.error(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "weftd has call.max-pending (" + pending.capacity() + ") calls in flight; retry with backoff"));
            return;
        }
        String target = op.target();
        int at = target.indexOf('@');
        String endpoint = at < 0 ? target : target.substring(0, at);
        String daemon = at < 0 ? "" : target.substring(at + 1);
        RouteTable.LocalEndpoint ep = daemon.isEmpty() || daemon.equals(settings.daemonId())
                ? routes.local(endpoint) : null;
        if (ep == null || ep.server().isClosed()) {
            callsNoRoute++;
            reply.error(CallErrors.of("NOT_FOUND", ErrorReason.ERROR_REASON_NO_ROUTE,
                    "no route to endpoint '" + target + "'", Map.of("target", target)));
            return;
        }
        if (!ep.functions().contains(op.function())) {
            callsNoRoute++;
            reply.error(CallErrors.of("NOT_FOUND", ErrorReason.ERROR_REASON_UNKNOWN_FUNCTION,
                    "endpoint '" + endpoint + "' serves no function '" + op.function() + "'",
                    Map.of("endpoint", endpoint, "function", op.function())));
            return;
        }
        String refusal = refusal(ep.policy(), op.callerClient(), settings.daemonId(), settings.daemonId());
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
                .setCallId(op.callId())
                .setEndpoint(endpoint)
                .setFunction(op.function())
                .setArgs(op.args())
                .setBudget(Durations.fromNanos(deadlineNs - nowNs))
                .setCallerClient(op.callerClient())
                .setCallerDaemon(settings.daemonId())
                .build();
        if (!server.push(ServeResponse.newBuilder().setInvocation(inv).build())) {
            callsRefusedFull++;
            reply.error(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "client '" + server.clientId() + "' has a full outbox"));
            return;
        }
        PendingCall p = new PendingCall(op.callId(), ++seq, op.callerClient(), settings.daemonId(), target, endpoint,
                op.function(), nowNs, deadlineNs, scope, server, server.pushed, reply, parent);
        pending.add(p);
        server.calls.add(p);
        if (parent != null) {
            parent.addChild(p);
        }
        server.wake();
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
        if (cancelReason != null && p.server != null && !p.server.ended && !p.server.isClosed()) {
            p.server.push(ServeResponse.newBuilder().setCancel(
                    CancelInvocation.newBuilder().setCallId(p.id).setReason(cancelReason)).build());
            p.server.wake();
        }
        endChildren(p, error.getReason().equals("DEADLINE_EXCEEDED"));
        p.reply.error(error);
    }

    private void detach(PendingCall p) {
        pending.remove(p);
        if (p.server != null) {
            p.server.calls.remove(p);
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
                    .addPath(p.callerDaemon)
                    .setElapsed(Durations.fromNanos(nowNs - p.startNs))
                    .setDeadlineLeft(Durations.fromNanos(Math.max(0, p.deadlineNs - nowNs)))
                    .setParentCallId(p.parent == null ? "" : p.parent.id);
            if (p.server != null) {
                b.setServerClient(p.server.clientId())
                        .setState(p.server.taken() >= p.outboxSeq ? CallState.CALL_STATE_RUNNING : CallState.CALL_STATE_QUEUED);
            }
            out.add(b.build());
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
