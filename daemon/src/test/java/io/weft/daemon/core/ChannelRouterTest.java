package io.weft.daemon.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import io.weft.api.v1.ChannelFailed;
import io.weft.api.v1.ChannelResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChannelRouterTest {

    private final CallRouter router = new CallRouter(CallSettings.defaults("d1"));
    private final ChannelPort receiverPort = new ChannelPort("rx", 1, () -> { });
    private final ChannelPort senderPort = new ChannelPort("tx", 1, () -> { });

    private String open() {
        router.on(new CallOp.ChannelOpen(receiverPort, 7), 0);
        ChannelResponse r = receiverPort.poll();
        assertEquals(7, r.getOpened().getRef());
        return r.getOpened().getHandle();
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    private static List<ChannelResponse> drain(ChannelPort port) {
        List<ChannelResponse> out = new ArrayList<>();
        for (ChannelResponse r; (r = port.poll()) != null; ) {
            out.add(r);
        }
        return out;
    }

    @Test
    void shouldReportEveryUndeliveredMessageWhenTheSendersOwnOutboxIsFull() {
        String handle = open();
        int n = 2_000;
        for (int i = 1; i <= n; i++) {
            router.on(new CallOp.ChannelSend(senderPort, handle, str("m" + i), i), 0);
        }
        assertEquals(1, drain(receiverPort).size(), "a queue of 1 took the first message");
        long reported = 0;
        int notices = 0;
        for (int round = 0; round < 100 && reported < n - 1; round++) {
            router.expire(0, 1024);
            for (ChannelResponse r : drain(senderPort)) {
                ChannelFailed f = r.getFailed();
                assertEquals("QUEUE_FULL", f.getError().getReason());
                reported += f.getCount();
                notices++;
            }
        }
        assertEquals(n - 1, reported, "every undelivered message is reported");
        assertTrue(notices < n - 1, "reports that found no room were added up: " + notices + " notices");
    }

    @Test
    void shouldFailEveryKnownSenderWhenTheReceiversStreamGoes() {
        String handle = open();
        ChannelPort other = new ChannelPort("tx2", 8, () -> { });
        router.on(new CallOp.ChannelSend(senderPort, handle, str("a"), 1), 0);
        drain(receiverPort);
        router.on(new CallOp.ChannelSend(other, handle, str("b"), 1), 0);
        receiverPort.close();
        router.on(new CallOp.ChannelGone(receiverPort, false), 0);
        for (ChannelPort p : List.of(senderPort, other)) {
            List<ChannelResponse> got = drain(p);
            assertEquals(1, got.size(), p + ": " + got);
            ChannelFailed f = got.get(0).getFailed();
            assertEquals("TARGET_GONE", f.getError().getReason());
            assertTrue(f.getClosed());
            assertTrue(f.getError().getMessage().contains("'rx'"), f.getError().getMessage());
        }
        router.on(new CallOp.ChannelSend(senderPort, handle, str("late"), 2), 0);
        assertEquals("TARGET_GONE", drain(senderPort).get(0).getFailed().getError().getReason());
    }

    @Test
    void shouldEndTheChannelAbruptlyWhenASendersStreamGoes() {
        String handle = open();
        router.on(new CallOp.ChannelSend(senderPort, handle, str("a"), 1), 0);
        assertEquals("a", drain(receiverPort).get(0).getMessage().getValue().getStringValue());
        senderPort.close();
        router.on(new CallOp.ChannelGone(senderPort, false), 0);
        ChannelResponse end = drain(receiverPort).get(0);
        assertTrue(end.getEnd().getAbrupt());
        assertEquals("d1/tx", end.getEnd().getSender());
    }

    @Test
    void shouldAnswerEarlierSendsThenFinishWhenASenderHalfCloses() {
        ChannelPort half = new ChannelPort("half", 8, () -> { });
        router.on(new CallOp.ChannelSend(half, "d1/never", str("a"), 1), 0);
        router.on(new CallOp.ChannelSend(half, "elsewhere/x", str("b"), 2), 0);
        assertTrue(!half.isFinished());
        router.on(new CallOp.ChannelGone(half, true), 0);

        assertTrue(half.isFinished() && half.isClosed(), "the stream may end once its outbox is empty");
        List<String> reasons = drain(half).stream().map(r -> r.getFailed().getError().getReason()).toList();
        assertEquals(List.of("TARGET_GONE", "NO_ROUTE"), reasons);
    }
}
