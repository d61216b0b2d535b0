package io.weft.daemon.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The response side of a server stream that the broker feeds through a queue: items go out only
 * while the stream {@code isReady()}; the broker's {@link #wake()} schedules at most one drain at a
 * time on the reply executor, and the ready callback drains too. Writing and ending are serialized
 * by this object's lock, which the broker never takes; the stream ends once.
 *
 * @param <T> the response type
 */
final class StreamOutbox<T> {

    private final ServerCallStreamObserver<T> out;
    private final Executor replies;
    private final Supplier<T> poll;
    private final BooleanSupplier finished;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private boolean ended;

    /**
     * @param poll the next queued item, or null (called under this object's lock only)
     * @param finished true when the stream is to end once {@code poll} has nothing more
     */
    StreamOutbox(ServerCallStreamObserver<T> out, Executor replies, Supplier<T> poll, BooleanSupplier finished) {
        this.out = out;
        this.replies = replies;
        this.poll = poll;
        this.finished = finished;
        out.setOnReadyHandler(this::drain);
    }

    /** Any thread, after queueing items: never blocks, coalesces wake-ups. */
    void wake() {
        if (scheduled.compareAndSet(false, true)) {
            replies.execute(() -> {
                scheduled.set(false);
                drain();
            });
        }
    }

    private synchronized void drain() {
        if (ended) {
            return;
        }
        while (out.isReady()) {
            // Read before polling: whatever was queued before the flag was set is then polled first.
            boolean last = finished.getAsBoolean();
            T item = poll.get();
            if (item == null) {
                if (last) {
                    ended = true;
                    out.onCompleted();
                }
                break;
            }
            out.onNext(item);
        }
    }

    /** Writes one item past the queue (rare: an answer made on the gRPC thread), unless ended. */
    synchronized void emit(T item) {
        if (!ended) {
            out.onNext(item);
        }
    }

    /** Ends the stream normally, unless it ended already. */
    synchronized void complete() {
        if (!ended) {
            ended = true;
            out.onCompleted();
        }
    }

    /** Ends the stream with an error, unless it ended already. */
    synchronized void fail(Throwable status) {
        if (!ended) {
            ended = true;
            out.onError(status);
        }
    }
}
