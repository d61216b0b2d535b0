package io.weft.daemon.it;

import static io.weft.daemon.it.Api.reason;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.ChannelFailed;
import io.weft.api.v1.ChannelRequest;
import io.weft.api.v1.ChannelResponse;
import io.weft.api.v1.ChannelSend;
import io.weft.api.v1.CloseChannel;
import io.weft.api.v1.OpenReceiver;
import io.weft.daemon.testing.WeftdProcess;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** CallService.Channel through the raw API: what a client without an SDK sees, bad input included. */
class ChannelApiIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** One raw Channel stream: requests out, responses (or the stream's end) queued. */
    private static final class Stream implements AutoCloseable {
        final LinkedBlockingQueue<Object> got = new LinkedBlockingQueue<>();
        final StreamObserver<ChannelRequest> out;

        Stream(WeftdProcess d) {
            out = CallServiceGrpc.newStub(d.channel()).channel(new StreamObserver<>() {
                @Override
                public void onNext(ChannelResponse r) {
                    got.add(r);
                }

                @Override
                public void onError(Throwable t) {
                    got.add(t);
                }

                @Override
                public void onCompleted() {
                    got.add("completed");
                }
            });
        }

        Object next() throws InterruptedException {
            Object o = got.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertTrue(o != null, "an answer within " + WAIT);
            return o;
        }

        ChannelResponse response() throws InterruptedException {
            return assertInstanceOf(ChannelResponse.class, next());
        }

        @Override
        public void close() {
            out.onCompleted();
        }
    }

    private static ChannelRequest send(String handle, Value v, long seq) {
        return ChannelRequest.newBuilder().setSend(ChannelSend.newBuilder().setHandle(handle).setValue(v).setSeq(seq))
                .build();
    }

    private static Value num(double d) {
        return Value.newBuilder().setNumberValue(d).build();
    }

    @Test
    void shouldOpenSendAndEndAChannelOverTheRawApi() throws Exception {
        try (WeftdProcess d = WeftdProcess.builder().start(); Stream rx = new Stream(d); Stream tx = new Stream(d)) {
            rx.out.onNext(ChannelRequest.newBuilder().setOpen(OpenReceiver.newBuilder().setRef(42)).build());
            ChannelResponse opened = rx.response();
            assertEquals(42, opened.getOpened().getRef());
            String handle = opened.getOpened().getHandle();
            assertTrue(handle.startsWith(d.daemonId() + "/"), handle);

            tx.out.onNext(send(handle, num(1), 1));
            tx.out.onNext(send(handle, num(2), 2));
            tx.out.onNext(ChannelRequest.newBuilder().setClose(CloseChannel.newBuilder().setHandle(handle)).build());
            assertEquals(1.0, rx.response().getMessage().getValue().getNumberValue());
            assertEquals(2.0, rx.response().getMessage().getValue().getNumberValue());
            ChannelResponse end = rx.response();
            assertEquals(handle, end.getEnd().getHandle());
            assertFalse(end.getEnd().getAbrupt());
        }
    }

    @Test
    void shouldAnswerBadSendsWithFailedNoticesAndKeepTheStream() throws Exception {
        try (WeftdProcess d = WeftdProcess.builder().start(); Stream tx = new Stream(d)) {
            tx.out.onNext(send("no-slash", num(1), 7));
            ChannelFailed bad = tx.response().getFailed();
            assertEquals(7, bad.getSeq());
            assertEquals("INVALID_ARGUMENT", bad.getError().getReason());
            assertTrue(bad.getClosed());

            tx.out.onNext(send(d.daemonId() + "/x", Value.newBuilder().setNumberValue(Double.NaN).build(), 8));
            ChannelFailed nan = tx.response().getFailed();
            assertEquals("NOT_JSON", nan.getError().getReason());
            assertFalse(nan.getClosed(), "a bad value says nothing about the receiver");

            tx.out.onNext(send(d.daemonId() + "/never", num(1), 9));
            ChannelFailed gone = tx.response().getFailed();
            assertEquals("TARGET_GONE", gone.getError().getReason());
            assertEquals("UNAVAILABLE", gone.getError().getCode());
            assertEquals(1, gone.getCount());

            tx.out.onNext(send("elsewhere/x", num(1), 10));
            assertEquals("NO_ROUTE", tx.response().getFailed().getError().getReason());
        }
    }

    @Test
    void shouldAnswerEverySendBeforeEndingWhenTheClientHalfCloses() throws Exception {
        try (WeftdProcess d = WeftdProcess.builder().start()) {
            Stream tx = new Stream(d);
            // As grpcurl does: the requests, then the end of input at once.
            tx.out.onNext(send(d.daemonId() + "/never", num(1), 1));
            tx.out.onNext(send("elsewhere/x", num(2), 2));
            tx.out.onCompleted();

            assertEquals("TARGET_GONE", tx.response().getFailed().getError().getReason());
            assertEquals("NO_ROUTE", tx.response().getFailed().getError().getReason());
            assertEquals("completed", tx.next());
        }
    }

    @Test
    void shouldEndTheStreamWithInvalidArgumentWhenARequestCarriesNothing() throws Exception {
        try (WeftdProcess d = WeftdProcess.builder().start(); Stream s = new Stream(d)) {
            s.out.onNext(ChannelRequest.getDefaultInstance());
            StatusRuntimeException e = assertInstanceOf(StatusRuntimeException.class, s.next());
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertEquals("INVALID_ARGUMENT", reason(e));
        }
    }
}
