package io.weft.daemon.grpc;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.EventRejection;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One {@code ContextService.Publish} stream: parses and validates each batch, queues the valid
 * events, and answers with cumulative acks. A full inbound queue drops the batch (counted in the
 * ack); an invalid event is rejected alone (listed in the ack). Acks and flush results are written
 * only while the stream {@code isReady()}; what cannot be written waits for the ready callback.
 *
 * <p>Flow control: the stream reads one message at a time, and reads none while its client has
 * {@code inbound.client-quota} events queued for the broker, until the broker has applied half of
 * them. A client faster than the broker is thus held back by HTTP/2 flow control (the SDK's buffer
 * then decides what happens) instead of filling the daemon's heap with parsed events.
 *
 * <p>Threads: messages arrive on the transport thread. A batch of up to {@link
 * #INLINE_PARSE_MAX_BYTES} is handled right there, which spares each event a hand-off to another
 * thread; a larger one is parsed and handled on a reply thread ({@code replies}), and the stream's
 * end, should it arrive meanwhile, is held back until that batch is done. One message at a time
 * is read, so the batches keep their order either way.
 */
final class PublishStream implements StreamObserver<PublishFrame> {

    private static final Logger LOG = Logger.getLogger("weftd");

    /** Rejections listed in one ack at most; {@code rejected} counts them all. */
    static final int MAX_REJECTIONS_PER_ACK = 16;
    /** How long a flush requested in-stream may wait for the sinks. */
    static final long STREAM_FLUSH_TIMEOUT_NS = 60_000_000_000L;
    /**
     * Batches up to this size, a few dozen events, are parsed on the transport thread: 40 µs at
     * most (a 1 MiB batch of small events takes about 5 ms). There, a hand-off to another thread
     * would cost more than the parse; larger batches come at high rates, where the transport
     * thread is better left to reading and writing.
     */
    static final int INLINE_PARSE_MAX_BYTES = 8 * 1024;

    private final ServerCallStreamObserver<PublishResponse> out;
    private final Inbound inbound;
    private final Sessions sessions;
    private final EventValidator validator;
    private final Errors errors;
    private final Executor replies;
    private final int recursionLimit;

    private volatile ClientSession session;
    // Guarded by this.
    private long accepted;
    private long dropped;
    private long rejected;
    private long lastBatchSeq;
    private boolean dirty;
    private boolean ended;
    private boolean halfClosed;
    private int outstandingFlushes;
    private final ArrayList<EventRejection> rejections = new ArrayList<>();
    private final ArrayDeque<PublishResponse> flushResults = new ArrayDeque<>();
    /** Whether a batch is being handled on a reply thread. */
    private boolean aside;
    /** The stream's end, held back while a batch is handled aside. */
    private final List<Runnable> heldBack = new ArrayList<>(2);

    PublishStream(
            ServerCallStreamObserver<PublishResponse> out,
            Inbound inbound,
            Sessions sessions,
            EventValidator validator,
            Errors errors,
            Executor replies,
            int recursionLimit) {
        this.out = out;
        this.inbound = inbound;
        this.sessions = sessions;
        this.validator = validator;
        this.errors = errors;
        this.replies = replies;
        this.recursionLimit = recursionLimit;
        out.setOnReadyHandler(this::sendPending);
        out.setOnCancelHandler(() -> inOrder(this::onCancelled));
        PacedReading.start(out);
    }

    @Override
    public void onNext(PublishFrame frame) {
        if (frame.size() <= INLINE_PARSE_MAX_BYTES) {
            if (handle(frame)) {
                readNext();
            }
            return;
        }
        synchronized (this) {
            aside = true;
        }
        replies.execute(() -> {
            boolean readOn = false;
            try {
                readOn = handle(frame);
            } catch (RuntimeException e) {
                // On the transport thread gRPC would close the call for this; here it is ours to do,
                // or the stream would hang with its end held back and its session never closed.
                LOG.log(Level.WARNING, "msg=\"a Publish batch failed; its stream ends\"", e);
                end(Status.INTERNAL.withDescription("weftd failed to handle a Publish batch: " + e)
                        .withCause(e).asRuntimeException());
            } finally {
                releaseHeldBack();
            }
            if (readOn) {
                readNext();
            }
        });
    }

    /** Ends the handling aside and runs the stream ends that arrived meanwhile. */
    private void releaseHeldBack() {
        List<Runnable> ends;
        synchronized (this) {
            aside = false;
            ends = List.copyOf(heldBack);
            heldBack.clear();
        }
        ends.forEach(Runnable::run);
    }

    /** Runs one of the stream's ends now, or after the batch being handled aside. */
    private void inOrder(Runnable end) {
        synchronized (this) {
            if (aside) {
                heldBack.add(end);
                return;
            }
        }
        end.run();
    }

    private void readNext() {
        PacedReading.next(out, session, inbound.clientQuota(), replies);
    }

    /** Parses, validates and queues one batch; false when the stream ended instead. */
    private boolean handle(PublishFrame frame) {
        PublishRequest req;
        try {
            req = frame.parse(recursionLimit);
        } catch (InvalidProtocolBufferException e) {
            end(errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "a Publish message is not a valid PublishRequest: " + e.getMessage()));
            return false;
        }
        if (session == null && !openSession(req.getClientId())) {
            return false;
        }
        List<ContextEvent> valid = new ArrayList<>(req.getEventsCount());
        List<EventRejection> bad = null;
        for (int i = 0; i < req.getEventsCount(); i++) {
            ContextEvent e = req.getEvents(i);
            Violation v = validator.check(e, i);
            if (v == null) {
                valid.add(e);
            } else {
                errors.count(v.reason());
                if (bad == null) {
                    bad = new ArrayList<>();
                }
                bad.add(EventRejection.newBuilder()
                        .setBatchSeq(req.getBatchSeq())
                        .setIndex(i)
                        .setId(e.getId())
                        .setReason(v.reason())
                        .setDescription(v.field() + ": " + v.description())
                        .build());
            }
        }
        boolean admitted = valid.isEmpty()
                || inbound.offer(new Command.Publish(session, req.getBatchSeq(), valid)) == Inbound.Refusal.NONE;
        long token = req.getFlushToken();
        boolean flushQueued = token != 0
                && inbound.offer(new Command.Flush(session, token, STREAM_FLUSH_TIMEOUT_NS, this::onFlushed))
                        == Inbound.Refusal.NONE;
        synchronized (this) {
            if (ended) {
                return false;
            }
            if (admitted) {
                accepted += valid.size();
            } else {
                dropped += valid.size();
                errors.count(ErrorReason.ERROR_REASON_QUEUE_FULL);
            }
            if (bad != null) {
                rejected += bad.size();
                for (EventRejection r : bad) {
                    if (rejections.size() < MAX_REJECTIONS_PER_ACK) {
                        rejections.add(r);
                    }
                }
            }
            // A message that only asks for a flush may carry no batch number: never move backwards.
            lastBatchSeq = Math.max(lastBatchSeq, req.getBatchSeq());
            dirty = true;
            if (token != 0) {
                if (flushQueued) {
                    outstandingFlushes++;
                } else {
                    flushResults.add(flushResponse(token, false));
                }
            }
        }
        sendPending();
        return true;
    }

    private boolean openSession(String clientId) {
        String problem = clientId.isEmpty() ? null : EventValidator.checkId(clientId);
        if (problem != null) {
            end(errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "client_id: " + problem.replace("id ", "client id ")));
            return false;
        }
        if (sessions.isDraining()) {
            endForShutdown();
            return false;
        }
        session = sessions.open(this, clientId);
        return true;
    }

    /** Broker thread: must not block, so the result is written from the reply executor. */
    private void onFlushed(long token, Command.FlushOutcome outcome, long pending) {
        boolean complete = outcome == Command.FlushOutcome.COMPLETE;
        replies.execute(() -> {
            synchronized (this) {
                outstandingFlushes--;
                if (!ended) {
                    flushResults.add(flushResponse(token, complete));
                }
            }
            sendPending();
        });
    }

    private PublishResponse flushResponse(long token, boolean complete) {
        return ack().setFlushedToken(token).setFlushComplete(complete).build();
    }

    private PublishResponse.Builder ack() {
        PublishResponse.Builder b = PublishResponse.newBuilder()
                .setAccepted(accepted)
                .setDropped(dropped)
                .setRejected(rejected)
                .setLastBatchSeq(lastBatchSeq)
                .addAllRejections(rejections);
        rejections.clear();
        dirty = false;
        return b;
    }

    private synchronized void sendPending() {
        if (ended) {
            return;
        }
        while (out.isReady() && (dirty || !flushResults.isEmpty())) {
            PublishResponse r = flushResults.isEmpty() ? ack().build() : flushResults.poll();
            out.onNext(r);
        }
        if (halfClosed && outstandingFlushes == 0 && flushResults.isEmpty() && !dirty) {
            ended = true;
            out.onCompleted();
        }
    }

    @Override
    public void onError(Throwable t) {
        inOrder(() -> {
            synchronized (this) {
                ended = true;
            }
            sessions.closed(this, session);
        });
    }

    @Override
    public void onCompleted() {
        inOrder(() -> {
            synchronized (this) {
                halfClosed = true;
            }
            sessions.closed(this, session);
            sendPending();
        });
    }

    private void onCancelled() {
        synchronized (this) {
            ended = true;
        }
        sessions.closed(this, session);
    }

    /** Ends the stream because the daemon is draining; the SDK reconnects to the next daemon. */
    void endForShutdown() {
        end(errors.error(Status.Code.UNAVAILABLE, ErrorReason.ERROR_REASON_SHUTTING_DOWN,
                "weftd is shutting down; events acknowledged so far will be delivered"));
    }

    private void end(Throwable status) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            out.onError(status);
        }
        sessions.closed(this, session);
    }
}
