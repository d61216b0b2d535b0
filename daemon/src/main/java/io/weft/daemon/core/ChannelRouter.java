package io.weft.daemon.core;

import com.google.protobuf.Value;
import io.weft.api.v1.CallError;
import io.weft.api.v1.ChannelEnd;
import io.weft.api.v1.ChannelFailed;
import io.weft.api.v1.ChannelMessage;
import io.weft.api.v1.ChannelResponse;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.EnvelopeKind;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.PeerChannel;
import io.weft.api.v1.ReceiverOpened;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The broker's channel duty (DESIGN §8, Mitogen's Receiver/Sender): opens receivers, delivers each
 * sent value to its receiver here or towards the receiver's daemon, delivers end-of-channel when a
 * sender closes (or its client goes), and fails the senders when a receiver goes.
 *
 * <p>A handle is {@code daemon/name}; names are never reused within a daemon's epoch. The receiver's
 * daemon remembers who sent to each receiver (local streams and remote ports), so that closing the
 * receiver fails them at once instead of at their next send.
 *
 * <p>Broker thread only.
 */
final class ChannelRouter {

    /** Senders remembered per receiver at most; an unremembered sender learns at its next send. */
    static final int MAX_SENDERS = 4096;

    /** A sender as the receiver's daemon knows it: a stream on some daemon. */
    private record SenderRef(String daemon, long port) {}

    private static final class Receiver {
        final String handle;
        final ChannelPort port;
        final Set<SenderRef> senders = new LinkedHashSet<>();

        Receiver(String handle, ChannelPort port) {
            this.handle = handle;
            this.port = port;
        }
    }

    private final String daemonId;
    private final String namePrefix;
    private final int maxReceivers;
    private final RouteTable routes;
    private final PeerRouter peers;
    private final Map<String, Receiver> receivers = new HashMap<>();
    private final Map<Long, ChannelPort> ports = new HashMap<>();
    /** Ports with failure reports waiting for room in their outbox. */
    private final Set<ChannelPort> owing = new LinkedHashSet<>();
    private long names;
    private long nowNs;

    long opened;
    long refusedFull;
    long messagesIn;
    long messagesDelivered;
    long messagesForwarded;
    long sendsFailed;
    long ends;
    long noticesDropped;
    long sendersUntracked;
    long peerUnmatched;

    ChannelRouter(String daemonId, long epoch, int maxReceivers, RouteTable routes, PeerRouter peers) {
        this.daemonId = daemonId;
        this.namePrefix = Long.toHexString(epoch & 0xffffffL) + ".";
        this.maxReceivers = maxReceivers;
        this.routes = routes;
        this.peers = peers;
    }

    void on(CallOp.ChannelOp op, long nowNs) {
        this.nowNs = nowNs;
        ChannelPort port = op.port();
        if (port.ended) {
            return;
        }
        ports.putIfAbsent(port.id(), port);
        if (op instanceof CallOp.ChannelOpen o) {
            open(port, o.ref());
        } else if (op instanceof CallOp.ChannelSend s) {
            send(port, s.handle(), s.value(), s.seq());
        } else if (op instanceof CallOp.ChannelClose c) {
            close(port, c.handle(), c.asSender());
        } else if (op instanceof CallOp.ChannelGone g) {
            portGone(port);
            if (g.halfClosed()) {
                // The notices of everything the client sent before are in the outbox: the stream ends after them.
                port.close();
                port.finish();
            }
        }
    }

    /** Ends the ports whose stream closed without a ChannelGone command (a full inbound queue). */
    int sweep() {
        int work = 0;
        for (ChannelPort p : List.copyOf(ports.values())) {
            if (p.isClosed()) {
                portGone(p);
                work++;
            }
        }
        return work;
    }

    // ---- local operations ----

    private void open(ChannelPort port, long ref) {
        ReceiverOpened.Builder r = ReceiverOpened.newBuilder().setRef(ref);
        if (receivers.size() >= maxReceivers) {
            refusedFull++;
            r.setError(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "weftd has channel.max-receivers (" + maxReceivers + ") receivers open"));
        } else if (port.receivers.size() >= ChannelPort.MAX_RECEIVERS) {
            refusedFull++;
            r.setError(CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "this stream holds " + ChannelPort.MAX_RECEIVERS + " receivers already; close some"));
        } else {
            String handle = daemonId + "/" + namePrefix + ++names;
            receivers.put(handle, new Receiver(handle, port));
            port.receivers.add(handle);
            opened++;
            r.setHandle(handle);
        }
        notice(port, ChannelResponse.newBuilder().setOpened(r).build());
    }

    private void send(ChannelPort port, String handle, Value value, long seq) {
        messagesIn++;
        String sender = daemonId + "/" + port.clientId();
        String dst = daemonOf(handle);
        if (dst.equals(daemonId)) {
            CallError error = deliver(handle, value, sender, new SenderRef(daemonId, port.id()));
            if (error != null) {
                fail(port, handle, seq, error);
                return;
            }
        } else {
            RouteTable.Via via = routes.best(dst);
            if (via == null) {
                fail(port, handle, seq, noRoute(dst));
                return;
            }
            Envelope env = peers.envelope(EnvelopeKind.ENVELOPE_KIND_CHANNEL_DATA, dst)
                    .setTtl(peers.maxHops() - 1)
                    .setChannel(PeerChannel.newBuilder().setHandle(handle).setValue(value).setSender(sender)
                            .setPort(port.id()).setSeq(seq))
                    .build();
            if (!peers.trySend(via.link(), env, nowNs)) {
                fail(port, handle, seq, linkFull(via.link()));
                return;
            }
            messagesForwarded++;
        }
        track(port, handle);
    }

    private void close(ChannelPort port, String handle, boolean asSender) {
        if (!asSender && port.receivers.contains(handle)) {
            closeReceiver(receivers.get(handle), "the receiver closed " + handle);
            return;
        }
        port.sentTo.remove(handle);
        end(handle, daemonId + "/" + port.clientId(), port.id(), false);
    }

    private void portGone(ChannelPort port) {
        if (port.ended) {
            return;
        }
        port.ended = true;
        ports.remove(port.id());
        for (String handle : List.copyOf(port.receivers)) {
            closeReceiver(receivers.get(handle), "the client '" + port.clientId() + "' holding " + handle
                    + " went away");
        }
        for (String handle : port.sentTo) {
            end(handle, daemonId + "/" + port.clientId(), port.id(), true);
        }
        port.sentTo.clear();
    }

    /** Remembers that {@code port} sends to {@code handle}, to end the channel if it goes. */
    private void track(ChannelPort port, String handle) {
        if (port.sentTo.size() < ChannelPort.MAX_SENT_TO || port.sentTo.contains(handle)) {
            port.sentTo.add(handle);
        } else {
            sendersUntracked++;
        }
    }

    // ---- the receiver's side ----

    /** Delivers to a receiver of this daemon; returns why it could not, or null. */
    private CallError deliver(String handle, Value value, String sender, SenderRef from) {
        Receiver r = receivers.get(handle);
        if (r == null) {
            return gone(handle);
        }
        // Known even when its message is refused: a sender of undelivered messages learns of the close too.
        if (r.senders.size() < MAX_SENDERS || r.senders.contains(from)) {
            r.senders.add(from);
        } else {
            sendersUntracked++;
        }
        ChannelResponse m = ChannelResponse.newBuilder().setMessage(
                ChannelMessage.newBuilder().setHandle(handle).setValue(value).setSender(sender)).build();
        if (!r.port.pushMessage(m)) {
            return CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "the receiver " + handle + " has channel.queue messages waiting; this one was not delivered",
                    Map.of("handle", handle));
        }
        messagesDelivered++;
        r.port.wake();
        return null;
    }

    /** A sender ended its side: the receiver (here or at the handle's daemon) gets end-of-channel. */
    private void end(String handle, String sender, long port, boolean abrupt) {
        ends++;
        String dst = daemonOf(handle);
        if (dst.equals(daemonId)) {
            deliverEnd(handle, sender, new SenderRef(daemonId, port), abrupt);
            return;
        }
        RouteTable.Via via = routes.best(dst);
        if (via != null) {
            peers.send(via.link(), peers.envelope(EnvelopeKind.ENVELOPE_KIND_CHANNEL_END, dst)
                    .setTtl(peers.maxHops() - 1)
                    .setChannel(PeerChannel.newBuilder().setHandle(handle).setSender(sender).setPort(port)
                            .setAbrupt(abrupt))
                    .build(), nowNs);
        }
    }

    private void deliverEnd(String handle, String sender, SenderRef from, boolean abrupt) {
        Receiver r = receivers.get(handle);
        if (r == null) {
            return;
        }
        r.senders.remove(from);
        notice(r.port, ChannelResponse.newBuilder().setEnd(
                ChannelEnd.newBuilder().setHandle(handle).setSender(sender).setAbrupt(abrupt)).build());
    }

    /** The receiver is gone: every sender it knows of learns at once; later sends fail with TARGET_GONE. */
    private void closeReceiver(Receiver r, String why) {
        receivers.remove(r.handle);
        r.port.receivers.remove(r.handle);
        CallError error = CallErrors.of("UNAVAILABLE", ErrorReason.ERROR_REASON_TARGET_GONE, why,
                Map.of("handle", r.handle));
        for (SenderRef s : r.senders) {
            failSender(s, r.handle, 0, error);
        }
        r.senders.clear();
    }

    /** Tells a sender's stream (here or on its daemon) that a send to {@code handle} failed. */
    private void failSender(SenderRef s, String handle, long seq, CallError error) {
        boolean closed = closes(error);
        if (s.daemon().equals(daemonId)) {
            ChannelPort p = ports.get(s.port());
            if (p != null) {
                fail(p, handle, seq, error);
            }
            return;
        }
        RouteTable.Via via = routes.best(s.daemon());
        Envelope env = via == null ? null : peers.envelope(EnvelopeKind.ENVELOPE_KIND_CHANNEL_FAIL, s.daemon())
                .setTtl(peers.maxHops() - 1)
                .setChannel(PeerChannel.newBuilder().setHandle(handle).setPort(s.port()).setSeq(seq)
                        .setError(error).setClosed(closed).setCount(1))
                .build();
        // A lost report of one undelivered message must not take the link down with it.
        if (env == null || !(closed ? peers.send(via.link(), env, nowNs) : peers.trySend(via.link(), env, nowNs))) {
            noticesDropped++;
        }
    }

    private void fail(ChannelPort port, String handle, long seq, CallError error) {
        fail(port, handle, seq, error, 1);
    }

    /**
     * Reports failed sends to their stream. A report the outbox has no room for is added up with
     * later ones for the same handle and sent by {@link #reportOwed} when there is room: a sender
     * learns of every undelivered message, however slowly it reads.
     */
    private void fail(ChannelPort port, String handle, long seq, CallError error, long count) {
        sendsFailed += count;
        boolean closed = closes(error);
        if (closed) {
            port.sentTo.remove(handle);
        }
        if (port.isClosed()) {
            return;
        }
        ChannelPort.Owed o = port.owed.get(handle);
        if (o == null && port.pushNotice(failed(handle, seq, error, closed, count))) {
            port.wake();
            return;
        }
        if (o == null) {
            if (port.owed.size() >= ChannelPort.MAX_SENT_TO) {
                noticesDropped++;
                return;
            }
            o = new ChannelPort.Owed();
            port.owed.put(handle, o);
            owing.add(port);
        }
        o.count += count;
        o.seq = seq;
        if (closed || !o.closed) {
            o.error = error;
            o.closed = closed;
        }
    }

    /** The timer duty's part: failure reports that found no room before, as far as there is room now. */
    int reportOwed() {
        if (owing.isEmpty()) {
            return 0;
        }
        int work = 0;
        for (Iterator<ChannelPort> ports = owing.iterator(); ports.hasNext(); ) {
            ChannelPort port = ports.next();
            for (Iterator<Map.Entry<String, ChannelPort.Owed>> it = port.owed.entrySet().iterator();
                    it.hasNext() && !port.isClosed(); ) {
                Map.Entry<String, ChannelPort.Owed> e = it.next();
                ChannelPort.Owed o = e.getValue();
                if (!port.pushNotice(failed(e.getKey(), o.seq, o.error, o.closed, o.count))) {
                    break;
                }
                it.remove();
                work++;
            }
            if (work > 0) {
                port.wake();
            }
            if (port.owed.isEmpty() || port.isClosed()) {
                port.owed.clear();
                ports.remove();
            }
        }
        return work;
    }

    private static ChannelResponse failed(String handle, long seq, CallError error, boolean closed, long count) {
        return ChannelResponse.newBuilder().setFailed(ChannelFailed.newBuilder().setHandle(handle).setSeq(seq)
                .setError(error).setClosed(closed).setCount(count)).build();
    }

    private void notice(ChannelPort port, ChannelResponse notice) {
        if (port.isClosed()) {
            return;
        }
        if (!port.pushNotice(notice)) {
            noticesDropped++;
            return;
        }
        port.wake();
    }

    // ---- peers ----

    /**
     * A channel envelope from a peer, its origin verified by the caller: delivered here when {@code dst}
     * is this daemon, otherwise passed on towards {@code dst}.
     */
    void fromPeer(PeerLink link, Envelope e, long nowNs) {
        this.nowNs = nowNs;
        PeerChannel c = e.getChannel();
        if (!e.getDst().equals(daemonId)) {
            relay(link, e);
            return;
        }
        switch (e.getKind()) {
            case ENVELOPE_KIND_CHANNEL_DATA -> {
                messagesIn++;
                CallError error = deliver(c.getHandle(), c.getValue(), c.getSender(), new SenderRef(e.getAuth(), c.getPort()));
                if (error != null) {
                    sendsFailed++;
                    failSender(new SenderRef(e.getAuth(), c.getPort()), c.getHandle(), c.getSeq(), error);
                }
            }
            case ENVELOPE_KIND_CHANNEL_END -> {
                ends++;
                deliverEnd(c.getHandle(), c.getSender(), new SenderRef(e.getAuth(), c.getPort()), c.getAbrupt());
            }
            case ENVELOPE_KIND_CHANNEL_FAIL -> {
                ChannelPort p = ports.get(c.getPort());
                if (p == null) {
                    peerUnmatched++;
                    return;
                }
                fail(p, c.getHandle(), c.getSeq(), c.getError(), Math.max(1, c.getCount()));
            }
            default -> peerUnmatched++;
        }
    }

    /**
     * A link went down: what was queued on it is lost, so every stream that sent to a receiver
     * reached through it is told (TARGET_GONE, closed): no message is lost silently. Called before
     * the link's routes are withdrawn.
     */
    void onLinkDown(PeerLink link, String why, long nowNs) {
        this.nowNs = nowNs;
        for (ChannelPort port : List.copyOf(ports.values())) {
            for (String handle : List.copyOf(port.sentTo)) {
                String dst = daemonOf(handle);
                RouteTable.Via via = dst.equals(daemonId) ? null : routes.best(dst);
                if (via != null && via.link() == link) {
                    fail(port, handle, 0, CallErrors.of("UNAVAILABLE", ErrorReason.ERROR_REASON_TARGET_GONE,
                            "the link from " + daemonId + " to " + link.peerId() + ", on the way to " + dst
                                    + ", went away (" + why + "): messages sent to " + handle + " may be lost",
                            Map.of("handle", handle, "link", link.peerId())));
                }
            }
        }
    }

    /** Passes a channel envelope on towards its {@code dst}; dropped (and counted) past the hop limit or without a route. */
    private void relay(PeerLink in, Envelope e) {
        RouteTable.Via via = routes.best(e.getDst());
        if (e.getTtl() == 0 || via == null || via.link() == in) {
            peerUnmatched++;
            if (e.getKind() == EnvelopeKind.ENVELOPE_KIND_CHANNEL_DATA && via == null) {
                PeerChannel c = e.getChannel();
                failSender(new SenderRef(e.getAuth(), c.getPort()), c.getHandle(), c.getSeq(), noRoute(e.getDst()));
            }
            return;
        }
        if (peers.trySend(via.link(), e.toBuilder().setTtl(e.getTtl() - 1).build(), nowNs)) {
            messagesForwarded++;
        } else if (e.getKind() == EnvelopeKind.ENVELOPE_KIND_CHANNEL_DATA) {
            PeerChannel c = e.getChannel();
            failSender(new SenderRef(e.getAuth(), c.getPort()), c.getHandle(), c.getSeq(), linkFull(via.link()));
        }
    }

    // ---- errors ----

    /** The daemon part of a handle (validated at the edge: it has a '/'). */
    static String daemonOf(String handle) {
        return handle.substring(0, handle.lastIndexOf('/'));
    }

    private static boolean closes(CallError error) {
        return !error.getReason().equals("QUEUE_FULL");
    }

    private CallError gone(String handle) {
        return CallErrors.of("UNAVAILABLE", ErrorReason.ERROR_REASON_TARGET_GONE,
                "no receiver " + handle + " on " + daemonId + ": it was closed, its client went away, or it never existed",
                Map.of("handle", handle));
    }

    private CallError noRoute(String dst) {
        return CallErrors.of("NOT_FOUND", ErrorReason.ERROR_REASON_NO_ROUTE,
                "no route to daemon '" + dst + "' from " + daemonId, Map.of("daemon", dst));
    }

    private static CallError linkFull(PeerLink link) {
        return CallErrors.of("RESOURCE_EXHAUSTED", ErrorReason.ERROR_REASON_QUEUE_FULL,
                "the link to " + link.peerId() + " has a full outbox; this message was not sent");
    }

    /** Counters for AdminService.Info. */
    void counters(Map<String, Long> c) {
        c.put("channel_receivers", (long) receivers.size());
        c.put("channel_receivers_opened", opened);
        c.put("channel_receivers_refused_full", refusedFull);
        c.put("channel_messages_in", messagesIn);
        c.put("channel_messages_delivered", messagesDelivered);
        c.put("channel_messages_forwarded", messagesForwarded);
        c.put("channel_sends_failed", sendsFailed);
        c.put("channel_ends", ends);
        c.put("channel_notices_dropped", noticesDropped);
        c.put("channel_senders_untracked", sendersUntracked);
        c.put("channel_peer_unmatched", peerUnmatched);
    }
}
