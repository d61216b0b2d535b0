package io.weft.daemon.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.weft.api.v1.WatchEnabledResponse;
import io.weft.daemon.stats.EnabledWatch;
import java.util.Map;
import java.util.concurrent.Executor;

/** Writes one WatchEnabled stream: switches as the broker queues them, only while the stream is ready. */
final class EnabledWatchStream {

    private final ServerCallStreamObserver<WatchEnabledResponse> out;
    private final Executor replies;
    private EnabledWatch watch;
    private boolean ended;

    EnabledWatchStream(ServerCallStreamObserver<WatchEnabledResponse> out, Executor replies) {
        this.out = out;
        this.replies = replies;
    }

    void attach(EnabledWatch w) {
        this.watch = w;
        out.setOnReadyHandler(this::drain);
        out.setOnCancelHandler(() -> {
            synchronized (this) {
                ended = true;
            }
            w.cancel();
        });
    }

    /** Broker thread: hands the writing to the reply executor. */
    void wake() {
        replies.execute(this::drain);
    }

    private synchronized void drain() {
        while (!ended && out.isReady()) {
            Map.Entry<String, Boolean> e = watch.poll();
            if (e == null) {
                return;
            }
            out.onNext(WatchEnabledResponse.newBuilder().setNamespace(e.getKey()).setEnabled(e.getValue()).build());
        }
    }

    synchronized void fail(Throwable status) {
        if (!ended) {
            ended = true;
            watch.cancel();
            out.onError(status);
        }
    }
}
