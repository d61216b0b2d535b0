package io.weft.daemon.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.OpRejection;
import io.weft.api.v1.RecordRequest;
import io.weft.api.v1.RecordResponse;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import io.weft.daemon.stats.Expression;
import io.weft.daemon.stats.Rejection;
import io.weft.daemon.stats.StatsBatch;
import io.weft.daemon.stats.StatsOpValidator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One {@code StatsService.Record} stream: checks each batch of ops, queues it for the broker and
 * answers with cumulative acks once batches are applied. A full inbound queue drops the batch
 * (counted in the ack); an invalid op is skipped alone (listed in the ack). Acks are written only
 * while the stream {@code isReady()}; they coalesce otherwise. Flow control as {@link
 * PublishStream}'s: one message at a time, none while the client has its quota of ops queued.
 */
final class RecordStream implements StreamObserver<RecordRequest> {

    /** Rejections listed in one ack at most; {@code rejected} counts them all. */
    static final int MAX_REJECTIONS_PER_ACK = 16;

    private static final AtomicLong ANONYMOUS = new AtomicLong();

    private final ServerCallStreamObserver<RecordResponse> out;
    private final Inbound inbound;
    private final StatsOpValidator validator;
    private final Errors errors;
    private final Executor replies;
    private final Sessions sessions;

    private ClientSession session;
    // Guarded by this.
    private long applied;
    private long rejected;
    private long disabled;
    private long dropped;
    private long lastBatchSeq;
    private int outstanding;
    private boolean dirty;
    private boolean ended;
    private boolean halfClosed;
    private final ArrayList<OpRejection> rejections = new ArrayList<>();

    RecordStream(ServerCallStreamObserver<RecordResponse> out, Inbound inbound, StatsOpValidator validator,
            Errors errors, Executor replies, Sessions sessions) {
        this.out = out;
        this.inbound = inbound;
        this.validator = validator;
        this.errors = errors;
        this.replies = replies;
        this.sessions = sessions;
        out.setOnReadyHandler(this::sendPending);
        out.setOnCancelHandler(this::onCancelled);
        PacedReading.start(out);
    }

    @Override
    public void onNext(RecordRequest req) {
        if (session == null && !openSession(req.getClientId())) {
            return;
        }
        int n = req.getOpsCount();
        Expression[] expressions = new Expression[n];
        Rejection[] refused = new Rejection[n];
        for (int i = 0; i < n; i++) {
            StatsOpValidator.Checked c = validator.check(req.getOps(i));
            expressions[i] = c.expression();
            refused[i] = c.rejection();
        }
        StatsBatch batch = new StatsBatch(req.getBatchSeq(), req.getOpsList(), expressions, refused, this::onApplied);
        boolean admitted = inbound.offer(new Command.Stats(session, engine -> engine.record(batch), Math.max(1, n)))
                == Inbound.Refusal.NONE;
        synchronized (this) {
            if (ended) {
                return;
            }
            if (admitted) {
                outstanding++;
            } else {
                dropped += n;
                lastBatchSeq = Math.max(lastBatchSeq, req.getBatchSeq());
                dirty = true;
            }
        }
        if (!admitted) {
            errors.count(ErrorReason.ERROR_REASON_QUEUE_FULL);
            sendPending();
        }
        PacedReading.next(out, session, inbound.clientQuota(), replies);
    }

    private boolean openSession(String clientId) {
        String problem = clientId.isEmpty() ? null : EventValidator.checkId(clientId);
        if (problem != null) {
            end(errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "client_id: " + problem.replace("id ", "client id ")));
            return false;
        }
        if (sessions.isDraining()) {
            end(errors.error(Status.Code.UNAVAILABLE, ErrorReason.ERROR_REASON_SHUTTING_DOWN, "weftd is shutting down"));
            return false;
        }
        session = new ClientSession(clientId.isEmpty() ? "stats-" + ANONYMOUS.incrementAndGet() : clientId);
        return true;
    }

    /** Broker thread: must not block, so the ack is written from the reply executor. */
    private void onApplied(StatsBatch batch, int ok, int off, List<StatsBatch.Refused> refused) {
        replies.execute(() -> {
            for (StatsBatch.Refused r : refused) {
                errors.count(r.rejection().reason());
            }
            synchronized (this) {
                outstanding--;
                applied += ok;
                disabled += off;
                rejected += refused.size();
                lastBatchSeq = Math.max(lastBatchSeq, batch.batchSeq());
                for (StatsBatch.Refused r : refused) {
                    if (rejections.size() < MAX_REJECTIONS_PER_ACK) {
                        rejections.add(OpRejection.newBuilder()
                                .setBatchSeq(batch.batchSeq())
                                .setIndex(r.index())
                                .setReason(r.rejection().reason())
                                .setDescription(r.rejection().description())
                                .setPosition(r.rejection().position())
                                .build());
                    }
                }
                dirty = true;
            }
            sendPending();
        });
    }

    private synchronized void sendPending() {
        if (ended) {
            return;
        }
        while (dirty && out.isReady()) {
            out.onNext(RecordResponse.newBuilder()
                    .setApplied(applied)
                    .setRejected(rejected)
                    .setDisabled(disabled)
                    .setDropped(dropped)
                    .setLastBatchSeq(lastBatchSeq)
                    .addAllRejections(rejections)
                    .build());
            rejections.clear();
            dirty = false;
        }
        if (halfClosed && outstanding == 0 && !dirty) {
            ended = true;
            out.onCompleted();
        }
    }

    @Override
    public void onError(Throwable t) {
        synchronized (this) {
            ended = true;
        }
    }

    @Override
    public void onCompleted() {
        synchronized (this) {
            halfClosed = true;
        }
        sendPending();
    }

    private void onCancelled() {
        synchronized (this) {
            ended = true;
        }
    }

    private void end(Throwable status) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
        }
        out.onError(status);
    }
}
