package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGHUP changes what the running daemon does, not just what it says: after {@code log.level}
 * goes from info to debug, the debug line weftd writes while stopping appears; without the
 * reload it does not.
 */
class ReloadIT {

    private static final String DEBUG_LINE = "level=DEBUG logger=broker msg=\"broker stopped\"";
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Test
    void shouldLogAtDebugWhenSighupChangesLogLevelToDebug() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "log.level = info\n");
        try (NotifyListener systemd = new NotifyListener(dir.resolve("notify.sock").toString(), text -> "");
             WeftdProcess weftd = started(conf, systemd)) {
            Files.writeString(conf, "log.level = debug\n");
            new ProcessBuilder("kill", "-HUP", Long.toString(weftd.pid())).start().waitFor();
            Poll.until(WAIT, () -> weftd.output().contains("msg=reloaded"), "the reload line");

            weftd.sigterm();
            assertEquals(0, weftd.waitForExit(WAIT), weftd.output());
            assertTrue(weftd.output().contains(DEBUG_LINE), weftd.output());
        }
    }

    @Test
    void shouldNotLogAtDebugWhenLevelStaysInfo() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "log.level = info\n");
        try (NotifyListener systemd = new NotifyListener(dir.resolve("notify.sock").toString(), text -> "");
             WeftdProcess weftd = started(conf, systemd)) {
            weftd.sigterm();
            assertEquals(0, weftd.waitForExit(WAIT), weftd.output());
            assertTrue(weftd.output().contains("msg=stopped"), weftd.output());
            assertFalse(weftd.output().contains("level=DEBUG"), weftd.output());
        }
    }

    /**
     * A daemon that has installed its signal handlers: READY=1 is sent after them, while the ready
     * line is printed before (a signal in between would end the JVM without a drain).
     */
    private static WeftdProcess started(Path conf, NotifyListener systemd) throws Exception {
        WeftdProcess weftd = WeftdProcess.builder().arg("--config=" + conf)
                .env("NOTIFY_SOCKET", systemd.notifySocket()).start();
        try {
            assertTrue(systemd.next(WAIT).has("READY=1"));
        } catch (AssertionError | InterruptedException e) {
            weftd.close();
            throw e;
        }
        return weftd;
    }
}
