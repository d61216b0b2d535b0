package io.weft.daemon.it;

import static io.weft.daemon.it.Api.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import io.weft.api.v1.QueueInfo;
import io.weft.api.v1.QueuesRequest;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchRequest;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Starting, draining and stopping a real weftd; slow watchers; the file sink. */
class LifecycleIT {

    @Test
    void shouldWriteEveryAcceptedEventAndExitZeroWhenSigtermArrives() throws Exception {
        Path file = Files.createTempDirectory("weft-sink-").resolve("events.jsonl");
        try (WeftdProcess weftd = WeftdProcess.builder().env("WEFT_SINK_FILE", file.toString()).start()) {
            List<PublishResponse> acks = new CopyOnWriteArrayList<>();
            StreamObserver<PublishRequest> in = ContextServiceGrpc.newStub(weftd.channel())
                    .publish(ContextApiIT.collect(acks));
            int events = 20_000;
            for (int b = 0; b < events / 500; b++) {
                PublishRequest.Builder req = PublishRequest.newBuilder().setBatchSeq(b + 1);
                for (int i = 0; i < 500; i++) {
                    req.addEvents(event("t-" + b + "-" + i, EventKind.EVENT_KIND_TRANSIENT, 1));
                }
                in.onNext(req.build());
            }
            Poll.until(Duration.ofSeconds(30), () -> acks.stream().anyMatch(a -> a.getAccepted() == events),
                    "every event admitted");

            weftd.sigterm();
            assertEquals(0, weftd.waitForExit(Duration.ofSeconds(20)), weftd.output());

            assertEquals(events, Files.readAllLines(file).size());
            assertTrue(weftd.output().contains("msg=stopped drained=true undelivered=0"), weftd.output());
            assertFalse(Files.exists(weftd.socketPath()), "the socket file is removed on exit");
        }
    }

    @Test
    void shouldApplyReloadableSettingAndNameTheRestWhenSighupArrives() throws Exception {
        Path conf = Files.createTempFile("weftd-", ".conf");
        Files.writeString(conf, "log.level = info\n");
        try (WeftdProcess weftd = WeftdProcess.builder().arg("--config=" + conf).start()) {
            Files.writeString(conf, "log.level = debug\ncollator.live-max = 5\n");
            new ProcessBuilder("kill", "-HUP", Long.toString(weftd.pid())).start().waitFor();
            Poll.until(Duration.ofSeconds(10), () -> weftd.output().contains("msg=reloaded"), "the reload line");
            assertTrue(weftd.output().contains("msg=reloaded applied=\"log.level=debug\" need_restart=collator.live-max"),
                    weftd.output());

            Files.writeString(conf, "log.level = loud\n");
            new ProcessBuilder("kill", "-HUP", Long.toString(weftd.pid())).start().waitFor();
            Poll.until(Duration.ofSeconds(10), () -> weftd.output().contains("reload refused"), "the refusal");
            assertTrue(weftd.isAlive());
        } finally {
            Files.deleteIfExists(conf);
        }
    }

    @Test
    void shouldCheckConfigWithTheRealLauncherAndNameTheBadSetting() throws Exception {
        ProcessBuilder ok = new ProcessBuilder(
                WeftdProcess.launcherDir().resolve("weftd").toString(), "--check-config").redirectErrorStream(true);
        ok.environment().keySet().removeIf(k -> k.startsWith("WEFT_"));
        Process good = ok.start();
        String goodOut = new String(good.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, good.waitFor(), goodOut);
        assertTrue(goodOut.contains("config ok"), goodOut);

        ProcessBuilder bad = new ProcessBuilder(
                WeftdProcess.launcherDir().resolve("weftd").toString(), "--check-config").redirectErrorStream(true);
        bad.environment().keySet().removeIf(k -> k.startsWith("WEFT_"));
        bad.environment().put("WEFT_LISTEN", "nowhere");
        Process p = bad.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(2, p.waitFor(), out);
        assertTrue(out.contains("listen = \"nowhere\" (env WEFT_LISTEN)"), out);
    }

    @Test
    void shouldRefuseToStartWhenAnotherDaemonServesTheSocket() throws Exception {
        try (WeftdProcess first = WeftdProcess.start();
             WeftdProcess second = WeftdProcess.builder().socket(first.socketPath()).create()) {
            IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, second::launchNow);
            assertTrue(e.getMessage().contains("in use by another process"), e.getMessage());
            assertTrue(first.isAlive());
        }
    }

    @Test
    void shouldReplaceStaleSocketWhenPreviousDaemonWasKilled() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            weftd.kill9();
            weftd.waitForExit(Duration.ofSeconds(10));
            assertTrue(Files.exists(weftd.socketPath()), "kill -9 leaves the socket file behind");
            weftd.restart();
            assertTrue(weftd.isAlive());
        }
    }

    @Test
    void shouldLagOnlyTheSlowWatcherWhenOneStopsReading() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            Iterator<WatchResponse> slow = ViewServiceGrpc.newBlockingStub(weftd.channel())
                    .withDeadlineAfter(60, TimeUnit.SECONDS)
                    .watch(WatchRequest.newBuilder().setMode(WatchMode.WATCH_MODE_MESSAGES).setBufferSize(16).build());
            List<WatchResponse> fastSeen = new CopyOnWriteArrayList<>();
            ViewServiceGrpc.newStub(weftd.channel()).watch(
                    WatchRequest.newBuilder().setMode(WatchMode.WATCH_MODE_MESSAGES).setBufferSize(65536).build(),
                    ContextApiIT.collect(fastSeen));
            var admin = AdminServiceGrpc.newBlockingStub(weftd.channel());
            Poll.until(Duration.ofSeconds(10), () -> watchers(admin).size() == 2, "two watchers");

            int events = 50_000;
            StreamObserver<PublishRequest> in = ContextServiceGrpc.newStub(weftd.channel())
                    .publish(ContextApiIT.collect(new CopyOnWriteArrayList<>()));
            for (int b = 0; b < events / 1000; b++) {
                PublishRequest.Builder req = PublishRequest.newBuilder().setBatchSeq(b + 1);
                for (int i = 0; i < 1000; i++) {
                    req.addEvents(event("s-" + b + "-" + i, EventKind.EVENT_KIND_TRANSIENT, 1)
                            .setFields(Api.fields(java.util.Map.of("pad", "x".repeat(200)))));
                }
                in.onNext(req.build());
            }
            Poll.until(Duration.ofSeconds(60), () -> fastSeen.size() == events, "the fast watcher gets every event");
            in.onCompleted();

            long lagged = watchers(admin).stream().mapToLong(q -> q.getDropsOrDefault("lagged", 0)).sum();
            assertTrue(lagged > 0, "the slow watcher lost events");
            long received = 0;
            long reportedLost = 0;
            while (received + reportedLost < events) {
                WatchResponse r = slow.next();
                if (r.hasLagged()) {
                    reportedLost += r.getLagged().getDropped();
                } else {
                    received++;
                }
            }
            assertEquals(events, received + reportedLost, "every event is either delivered or reported lagged");
            assertTrue(reportedLost > 0);
        }
    }

    private static List<QueueInfo> watchers(AdminServiceGrpc.AdminServiceBlockingStub admin) {
        return admin.withDeadlineAfter(5, TimeUnit.SECONDS).queues(QueuesRequest.getDefaultInstance())
                .getQueuesList().stream().filter(q -> q.getName().startsWith("watch.")).toList();
    }
}
