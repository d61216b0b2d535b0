package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.daemon.testing.WeftdProcess;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** weftd started the way a {@code Type=notify} unit starts it: with a {@code NOTIFY_SOCKET} to report to. */
class SystemdNotifyIT {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void shouldSendReadyAfterListenersAreUpAndStoppingWhenSigtermArrives() throws Exception {
        AtomicReference<WeftdProcess> daemon = new AtomicReference<>();
        try (NotifyListener systemd = new NotifyListener(dir.resolve("notify.sock").toString(),
                text -> probe(daemon.get()));
             WeftdProcess weftd = WeftdProcess.builder().env("NOTIFY_SOCKET", systemd.notifySocket()).create()) {
            daemon.set(weftd);
            weftd.launchNow();

            NotifyListener.Notification ready = systemd.next(WAIT);
            assertTrue(ready.has("READY=1"), ready.text());
            assertTrue(ready.has("STATUS=serving on " + weftd.socketPath()), ready.text());
            assertEquals("socket accepts; ready line printed", ready.probe(),
                    "READY=1 must come after the listeners are up");

            weftd.sigterm();
            NotifyListener.Notification stopping = systemd.next(WAIT);
            assertTrue(stopping.has("STOPPING=1"), stopping.text());
            // drain.grace (5 s by default) plus the 10 s margin for closing and the JVM's exit.
            assertTrue(stopping.has("EXTEND_TIMEOUT_USEC=15000000"), stopping.text());
            assertEquals(0, weftd.waitForExit(WAIT), weftd.output());
            assertEquals(0, systemd.pending(), "nothing after STOPPING=1");
        }
    }

    @Test
    void shouldNotifyAbstractSocketAndReportReloadWhenSighupArrives() throws Exception {
        String name = "@weft-notify-test-" + UUID.randomUUID();
        try (NotifyListener systemd = new NotifyListener(name, text -> "");
             WeftdProcess weftd = WeftdProcess.builder().env("NOTIFY_SOCKET", name)
                     .env("WEFT_DRAIN_GRACE", "30s").start()) {
            assertTrue(systemd.next(WAIT).has("READY=1"));

            new ProcessBuilder("kill", "-HUP", Long.toString(weftd.pid())).start().waitFor();
            NotifyListener.Notification reloading = systemd.next(WAIT);
            assertTrue(reloading.has("RELOADING=1"), reloading.text());
            assertTrue(reloading.text().lines().anyMatch(l -> l.matches("MONOTONIC_USEC=\\d+")), reloading.text());
            assertTrue(systemd.next(WAIT).has("READY=1"), "READY=1 again once the reload is done");

            weftd.sigterm();
            assertTrue(systemd.next(WAIT).has("EXTEND_TIMEOUT_USEC=40000000"), "drain.grace 30 s plus 10 s");
            assertEquals(0, weftd.waitForExit(WAIT), weftd.output());
        }
    }

    @Test
    void shouldRunAndWarnWhenNotifySocketIsNotUsable() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().env("NOTIFY_SOCKET", "relative/notify.sock").start()) {
            assertTrue(weftd.output().contains("msg=\"NOTIFY_SOCKET not usable; systemd will not be notified\""),
                    weftd.output());
            assertTrue(weftd.isAlive());
        }
    }

    /** What holds at the moment a notification arrives: can a client connect, was the ready line printed. */
    private static String probe(WeftdProcess weftd) {
        Path socket = weftd.socketPath();
        String connect;
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            connect = "socket accepts";
        } catch (IOException e) {
            connect = "socket refuses (" + e.getMessage() + ", exists=" + Files.exists(socket) + ")";
        }
        return connect + "; " + (weftd.output().contains("msg=ready") ? "ready line printed" : "no ready line yet");
    }
}
