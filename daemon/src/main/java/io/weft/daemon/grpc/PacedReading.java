package io.weft.daemon.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.weft.daemon.core.ClientSession;
import java.util.concurrent.Executor;

/**
 * Flow control of a client stream whose messages become broker commands (Publish, Record): one
 * message is read at a time, and none while the stream's client has its quota queued (see {@link
 * ClientSession#pause}), so HTTP/2 flow control holds a client faster than the broker back.
 */
final class PacedReading {

    private PacedReading() {}

    /** In the service method, before it returns: take reading over from gRPC and read the first message. */
    static void start(ServerCallStreamObserver<?> out) {
        out.disableAutoRequest();
        out.request(1);
    }

    /**
     * After a message was handled: read the next now, or once the broker has worked {@code session}
     * below half of {@code quota} (the resumption runs on the broker thread and only hands over).
     */
    static void next(ServerCallStreamObserver<?> out, ClientSession session, int quota, Executor replies) {
        if (!session.pause(quota, () -> replies.execute(() -> out.request(1)))) {
            out.request(1);
        }
    }
}
