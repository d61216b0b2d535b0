package io.weft.daemon.core;

import java.util.ArrayList;
import java.util.List;

/** One call in flight, owned by the broker thread. */
final class PendingCall {

    /** Which deadline bounds the call: its own, or its parent's (nested calls never outlive it). */
    enum Scope { CALL, PARENT }

    final String id;
    final long seq;
    final String callerClient;
    final String callerDaemon;
    final String target;
    final String endpoint;
    final String function;
    final long startNs;
    final long deadlineNs;
    final Scope scope;
    final CallServer server;
    final long outboxSeq;
    final CallReply reply;
    final PendingCall parent;
    List<PendingCall> children;
    boolean warned;
    boolean done;
    /** The link the call arrived on (its caller is on a peer), or null for a local caller. */
    PeerLink inLink;
    /** The link the call was forwarded on, or null when a local client serves it. */
    PeerLink outLink;
    /** Daemons the call passed through before this one, origin first. */
    List<String> path = List.of();

    PendingCall(String id, long seq, String callerClient, String callerDaemon, String target, String endpoint,
            String function, long startNs, long deadlineNs, Scope scope, CallServer server, long outboxSeq,
            CallReply reply, PendingCall parent) {
        this.id = id;
        this.seq = seq;
        this.callerClient = callerClient;
        this.callerDaemon = callerDaemon;
        this.target = target;
        this.endpoint = endpoint;
        this.function = function;
        this.startNs = startNs;
        this.deadlineNs = deadlineNs;
        this.scope = scope;
        this.server = server;
        this.outboxSeq = outboxSeq;
        this.reply = reply;
        this.parent = parent;
    }

    void addChild(PendingCall child) {
        if (children == null) {
            children = new ArrayList<>(2);
        }
        children.add(child);
    }
}
