package io.weft.daemon.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.core.Watcher;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Moves items from a {@link Watcher}'s outbox to its gRPC stream, only while the stream {@code
 * isReady()}. The broker's wake-up schedules at most one drain at a time on the reply executor;
 * the stream's ready callback drains too. Draining is serialized by this object's lock, which the
 * broker never takes.
 */
final class WatchStream {

    private final ServerCallStreamObserver<WatchResponse> out;
    private final Executor executor;
    private final Supplier<Throwable> refusal;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private Watcher watcher;
    private boolean ended;

    /**
     * @param refusal the status to end the stream with when the broker refuses the watcher
     */
    WatchStream(ServerCallStreamObserver<WatchResponse> out, Executor executor, Supplier<Throwable> refusal) {
        this.out = out;
        this.executor = executor;
        this.refusal = refusal;
    }

    void attach(Watcher w) {
        this.watcher = w;
        out.setOnReadyHandler(this::drain);
        out.setOnCancelHandler(() -> {
            synchronized (this) {
                ended = true;
            }
            w.cancel();
        });
    }

    /** Called by the broker after pushing: never blocks, coalesces wake-ups. */
    void wake() {
        if (scheduled.compareAndSet(false, true)) {
            executor.execute(() -> {
                scheduled.set(false);
                drain();
            });
        }
    }

    private synchronized void drain() {
        if (ended) {
            return;
        }
        if (watcher.isRefused()) {
            fail(refusal.get());
            return;
        }
        while (out.isReady()) {
            WatchResponse item = watcher.poll();
            if (item == null) {
                break;
            }
            out.onNext(item);
        }
    }

    /** Ends the stream with an error (e.g. the broker refused the watcher). */
    synchronized void fail(Throwable status) {
        if (!ended) {
            ended = true;
            out.onError(status);
        }
    }
}
