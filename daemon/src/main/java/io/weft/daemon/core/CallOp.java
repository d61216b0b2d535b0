package io.weft.daemon.core;

import com.google.protobuf.Value;
import io.weft.api.v1.CallResult;
import io.weft.api.v1.EndpointSpec;
import io.weft.api.v1.Envelope;
import io.weft.api.v1.Peer;
import io.weft.api.v1.Route;
import io.weft.api.v1.InFlightCall;
import java.util.List;
import java.util.function.Consumer;

/** The call family of commands ({@link Command.Calls}): what the gRPC threads ask of the call router. */
public sealed interface CallOp {

    /** A Serve stream registers its endpoints; answered through the server's listener. */
    record Register(CallServer server, List<EndpointSpec> endpoints) implements CallOp {}

    /** A Serve stream ended: its endpoints go, its pending calls get dead replies. */
    record ServeEnded(CallServer server) implements CallOp {}

    /**
     * A call to invoke.
     *
     * @param callId unique on this daemon
     * @param target {@code endpoint} or {@code endpoint@daemon}
     * @param budgetNs what is left of the caller's deadline
     * @param parentCallId the call being handled when this one was made, or empty
     * @param callerClient the caller's client id, or empty
     */
    record Invoke(
            String callId,
            String target,
            String function,
            Value args,
            long budgetNs,
            String parentCallId,
            String callerClient,
            CallReply reply) implements CallOp {}

    /** A serving client answered an invocation. */
    record Result(CallServer server, CallResult result) implements CallOp {}

    /**
     * The caller gave up: it cancelled, or ({@code deadlinePassed}) its own deadline passed before
     * the broker's timer fired.
     */
    record CallerGone(String callId, boolean deadlinePassed) implements CallOp {}

    /** A peer link finished its hello (identity verified by the transport). */
    record LinkUp(PeerLink link) implements CallOp {}

    /** A peer link's stream ended. */
    record LinkDown(PeerLink link, String why) implements CallOp {}

    /** An envelope arrived on a link (heartbeats are not passed on: the transport stamps the link). */
    record FromPeer(PeerLink link, Envelope envelope) implements CallOp {}

    /** Lists the routes. */
    record ListRoutes(Consumer<List<Route>> reply) implements CallOp {}

    /** Lists the peer links. */
    record ListPeers(Consumer<List<Peer>> reply) implements CallOp {}

    /** Lists the calls in flight, oldest first. */
    record ListInFlight(Consumer<List<InFlightCall>> reply) implements CallOp {}

    /** What a Channel stream asks; answered through its port's outbox. */
    sealed interface ChannelOp extends CallOp {
        ChannelPort port();
    }

    /** Opens a receiver; answered by {@code opened} with {@code ref}. */
    record ChannelOpen(ChannelPort port, long ref) implements ChannelOp {}

    /** Sends a JSON value to the receiver {@code handle} (validated: {@code daemon/name}). */
    record ChannelSend(ChannelPort port, String handle, Value value, long seq) implements ChannelOp {}

    /**
     * Ends the port's sending side of a channel ({@code asSender}, or when it holds no receiver of
     * that handle), or closes the receiver it holds.
     */
    record ChannelClose(ChannelPort port, String handle, boolean asSender) implements ChannelOp {}

    /**
     * The Channel stream ended; {@code halfClosed}: the client only finished sending, and the stream
     * ends after the notices of what it sent before.
     */
    record ChannelGone(ChannelPort port, boolean halfClosed) implements ChannelOp {}
}
