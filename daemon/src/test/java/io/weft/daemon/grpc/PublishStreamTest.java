package io.weft.daemon.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import io.weft.daemon.core.Inbound;
import java.io.ByteArrayInputStream;
import java.util.ArrayDeque;
import java.util.Queue;
import org.junit.jupiter.api.Test;

/** PublishStream's handling of a large batch on a reply thread, driven by hand. */
class PublishStreamTest {

    private final RecordingObserver out = new RecordingObserver();
    private final Queue<Runnable> aside = new ArrayDeque<>();
    private final Sessions sessions = new Sessions();

    @Test
    void shouldEndWithInternalAndCloseSessionWhenBatchHandledAsideFails() {
        // No validator: handling the batch throws, as any bug on that path would.
        PublishStream stream = new PublishStream(out, new Inbound(1_000, 100), sessions, null, new Errors(),
                aside::add, DeepRequests.recursionLimit(32));

        stream.onNext(largeFrame());
        assertEquals(1, aside.size(), "a batch over the inline limit is handled aside");
        out.onCancel.run(); // arrives while the batch is aside: held back
        aside.poll().run();

        assertNotNull(out.error, "the stream ended");
        assertEquals(Status.Code.INTERNAL, Status.fromThrowable(out.error).getCode());
        assertEquals(0, sessions.openStreams(), "the session was closed");
        assertEquals(1, out.requested, "nothing more was read after the failure");
        assertTrue(aside.isEmpty());
    }

    private static PublishFrame largeFrame() {
        PublishRequest r = PublishRequest.newBuilder().setClientId("c").setBatchSeq(1)
                .addEvents(ContextEvent.newBuilder().setId("o").setSeq(1).setRoutingKey("a.b")
                        .setKind(EventKind.EVENT_KIND_LOG)
                        .setMessage("x".repeat(PublishStream.INLINE_PARSE_MAX_BYTES + 1)))
                .build();
        return PublishFrame.MARSHALLER.parse(new ByteArrayInputStream(r.toByteArray()));
    }

    /** The server side of a call as PublishStream sees it; records what it is told. */
    private static final class RecordingObserver extends ServerCallStreamObserver<PublishResponse> {
        Runnable onCancel;
        Throwable error;
        int requested;

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public void setOnCancelHandler(Runnable handler) {
            onCancel = handler;
        }

        @Override
        public void setCompression(String compression) {
        }

        @Override
        public boolean isReady() {
            return true;
        }

        @Override
        public void setOnReadyHandler(Runnable handler) {
        }

        @Override
        public void disableAutoInboundFlowControl() {
        }

        @Override
        public void disableAutoRequest() {
        }

        @Override
        public void request(int count) {
            requested += count;
        }

        @Override
        public void setMessageCompression(boolean enable) {
        }

        @Override
        public void onNext(PublishResponse value) {
        }

        @Override
        public void onError(Throwable t) {
            error = t;
        }

        @Override
        public void onCompleted() {
        }
    }
}
