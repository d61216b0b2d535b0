package io.weft.daemon.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.CallError;
import io.weft.api.v1.ChannelFailed;
import io.weft.api.v1.ChannelRequest;
import io.weft.api.v1.ChannelResponse;
import io.weft.api.v1.ChannelSend;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.ReceiverOpened;
import io.weft.daemon.core.CallOp;
import io.weft.daemon.core.ChannelPort;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;

/**
 * One {@code CallService.Channel} stream: validates opens, sends and closes and queues them for
 * the broker's channel router; messages and notices go out from its {@link ChannelPort}'s outbox,
 * only while the stream {@code isReady()}. A malformed send is answered with a {@code failed}
 * notice, not by ending the stream: the stream carries the client's other channels.
 */
final class ChannelStream implements StreamObserver<ChannelRequest>, ChannelPort.Listener {

    /** {@code daemon/name}: a daemon id as in targets, and a name of a receiver. */
    private static final Pattern HANDLE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}/[A-Za-z0-9._-]{1,64}");

    private final StreamOutbox<ChannelResponse> out;
    private final Inbound inbound;
    private final Errors errors;
    private final EventValidator validator;
    private final ChannelPort port;
    private final ClientSession session;

    ChannelStream(ServerCallStreamObserver<ChannelResponse> out, Inbound inbound, Errors errors, Executor replies,
            EventValidator validator, String clientId, int queue) {
        this.inbound = inbound;
        this.errors = errors;
        this.validator = validator;
        this.port = new ChannelPort(clientId, queue, this);
        this.out = new StreamOutbox<>(out, replies, port::poll, port::isFinished);
        this.session = new ClientSession("channel:" + clientId);
        out.setOnCancelHandler(this::gone);
    }

    @Override
    public void onNext(ChannelRequest req) {
        switch (req.getMsgCase()) {
            case OPEN -> {
                if (!offer(new CallOp.ChannelOpen(port, req.getOpen().getRef()))) {
                    out.emit(ChannelResponse.newBuilder().setOpened(ReceiverOpened.newBuilder()
                            .setRef(req.getOpen().getRef()).setError(queueFull("the receiver was not opened"))).build());
                }
            }
            case SEND -> send(req.getSend());
            case CLOSE -> {
                String handle = req.getClose().getHandle();
                if (!HANDLE.matcher(handle).matches()) {
                    failed(handle, 0, invalid("close.handle: " + describe(handle)), true);
                } else if (!offer(new CallOp.ChannelClose(port, handle, req.getClose().getSender()))) {
                    failed(handle, 0, queueFull("the close was not applied; close again"), false);
                }
            }
            default -> {
                out.fail(errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                        "a ChannelRequest must carry open, send or close"));
                gone();
            }
        }
    }

    private void send(ChannelSend s) {
        if (!HANDLE.matcher(s.getHandle()).matches()) {
            failed(s.getHandle(), s.getSeq(), invalid("send.handle: " + describe(s.getHandle())), true);
            return;
        }
        Violation v = validator.checkJson(s.getValue(), "send.value");
        if (v != null) {
            failed(s.getHandle(), s.getSeq(), error(Status.Code.INVALID_ARGUMENT, v.reason(),
                    v.field() + ": " + v.description()), false);
            return;
        }
        if (!offer(new CallOp.ChannelSend(port, s.getHandle(), s.getValue(), s.getSeq()))) {
            failed(s.getHandle(), s.getSeq(), queueFull("this message was not sent"), false);
        }
    }

    private static String describe(String handle) {
        return "'" + (handle.length() > 80 ? handle.substring(0, 80) + "..." : handle)
                + "' is not a receiver's handle (daemon/name, as ReceiverOpened gave it)";
    }

    private boolean offer(CallOp.ChannelOp op) {
        return inbound.offer(new Command.Calls(session, op)) == Inbound.Refusal.NONE;
    }

    /** A failure found here, written straight away (rare: bad input or a full inbound queue). */
    private void failed(String handle, long seq, CallError error, boolean closed) {
        out.emit(ChannelResponse.newBuilder().setFailed(ChannelFailed.newBuilder()
                .setHandle(handle).setSeq(seq).setError(error).setClosed(closed)).build());
    }

    private CallError invalid(String message) {
        return error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT, message);
    }

    private CallError queueFull(String what) {
        return error(Status.Code.RESOURCE_EXHAUSTED, ErrorReason.ERROR_REASON_QUEUE_FULL,
                "the daemon's inbound queue is full: " + what + "; retry with backoff");
    }

    /** A failure to report in a notice, counted like a status. */
    private CallError error(Status.Code code, ErrorReason reason, String message) {
        errors.count(reason);
        return CallError.newBuilder().setCode(code.name()).setReason(Errors.reasonName(reason)).setMessage(message)
                .build();
    }

    @Override
    public void onError(Throwable t) {
        gone();
    }

    /**
     * The client sends nothing more: its receivers close and its channels end as when it goes, but
     * the stream ends only after the notices of what it sent before (unknown handles, no route).
     */
    @Override
    public void onCompleted() {
        if (!port.isClosed() && !offer(new CallOp.ChannelGone(port, true))) {
            gone();
            out.complete();
        }
    }

    /** The stream is over: the broker closes its receivers and ends its channels. */
    private void gone() {
        if (port.isClosed()) {
            return;
        }
        port.close();
        // If the queue is full, the broker's sweep finds the closed port within 50 ms.
        offer(new CallOp.ChannelGone(port, false));
    }

    @Override
    public void wake() {
        out.wake();
    }
}
