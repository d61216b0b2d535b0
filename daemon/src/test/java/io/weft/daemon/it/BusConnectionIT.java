package io.weft.daemon.it;

import static io.weft.daemon.it.Api.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.Rabbit;
import io.weft.daemon.testing.WeftdProcess;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Connecting to a cluster's nodes in turn, and RabbitMQ's connection.blocked. */
class BusConnectionIT {

    @Test
    void shouldFailOverToTheNextNodeWhenTheFirstIsDown() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (Rabbit.Exchange ex = Rabbit.exchange();
                Rabbit.Tap tap = Rabbit.tap(ex.name(), "#");
                WeftdProcess weftd = WeftdProcess.builder()
                        .env("WEFT_BUS_URL", "amqp://guest:guest@127.0.0.1:" + closedPort + "/%2F," + Rabbit.url())
                        .env("WEFT_BUS_EXCHANGE", ex.name()).start()) {
            publish(weftd, "f-1");
            tap.await(1, Duration.ofSeconds(30));
            assertTrue(weftd.output().contains("bus unavailable; retrying"), "the dead node was tried first");
            assertEquals("connected", weftd.queue("bus").getState());
        }
    }

    @Test
    void shouldHoldEventsWhileRabbitMqBlocksTheConnection() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                Rabbit.Tap tap = Rabbit.tap(ex.name(), "#");
                WeftdProcess weftd = WeftdProcess.builder().env("WEFT_BUS_URL", Rabbit.url())
                        .env("WEFT_BUS_EXCHANGE", ex.name()).start()) {
            publish(weftd, "before");
            tap.await(1, Duration.ofSeconds(30));
            // A memory watermark of ~0 makes RabbitMQ raise its memory alarm and block publishers.
            rabbitmqctl("set_vm_memory_high_watermark", "0.00000001");
            try {
                publish(weftd, "during");
                Poll.until(Duration.ofSeconds(30), () -> weftd.queue("bus").getState().equals("blocked"),
                        () -> "blocked: " + weftd.queue("bus"));
                assertTrue(weftd.output().contains("RabbitMQ blocked the connection"), weftd.output());
            } finally {
                rabbitmqctl("set_vm_memory_high_watermark", "0.4");
            }
            tap.await(2, Duration.ofSeconds(30));
            Poll.until(Duration.ofSeconds(30), () -> weftd.queue("bus").getState().equals("connected"), () -> "unblocked");
            assertTrue(weftd.output().contains("publishing resumes"), weftd.output());
        }
    }

    private static void publish(WeftdProcess weftd, String id) {
        ContextServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(20, TimeUnit.SECONDS)
                .publishEvents(PublishEventsRequest.newBuilder()
                        .addEvents(event(id, EventKind.EVENT_KIND_TRANSIENT, 1)).build());
    }


    private static void rabbitmqctl(String... args) throws IOException, InterruptedException {
        String[] cmd = new String[args.length + 2];
        cmd[0] = "rabbitmqctl";
        cmd[1] = "-q";
        System.arraycopy(args, 0, cmd, 2, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
    }
}
