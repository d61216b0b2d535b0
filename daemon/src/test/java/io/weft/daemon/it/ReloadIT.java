package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.FieldSketch;
import io.weft.api.v1.Peer;
import io.weft.api.v1.PeersRequest;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.SketchRequest;
import io.weft.api.v1.SnapshotRequest;
import io.weft.api.v1.StatsServiceGrpc;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGHUP changes what the running daemon does, not just what it says: after {@code log.level}
 * goes from info to debug, the debug line weftd writes while stopping appears (without the
 * reload it does not); {@code stats.disabled} switches namespaces; {@code sketch.fields} changes
 * what is sketched; {@code peers} dials new peers and drops old ones.
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

    @Test
    void shouldSwitchNamespacesWhenSighupChangesStatsDisabled() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "stats.disabled = Jobs\n");
        try (NotifyListener systemd = new NotifyListener(dir.resolve("notify.sock").toString(), text -> "");
             WeftdProcess weftd = started(conf, systemd)) {
            Poll.until(WAIT, () -> Boolean.FALSE.equals(enabled(weftd, "Jobs")), "Jobs is off from the start");
            Files.writeString(conf, "stats.disabled = Mail Queue\n");
            hup(weftd, "stats.disabled=Mail Queue");
            Poll.until(WAIT, () -> Boolean.TRUE.equals(enabled(weftd, "Jobs")), "Jobs is on again");
            assertEquals(Boolean.FALSE, enabled(weftd, "Mail Queue"));
        }
    }

    @Test
    void shouldSketchTheNewFieldsAndKeepTheOldOnesWhenSighupChangesSketchFields() throws Exception {
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "sketch.fields = client_ip\n");
        try (NotifyListener systemd = new NotifyListener(dir.resolve("notify.sock").toString(), text -> "");
             WeftdProcess weftd = started(conf, systemd)) {
            publish(weftd, "o-1");
            Poll.until(WAIT, () -> sketchedFields(weftd).equals(Map.of("client_ip", 1L)), "client_ip sketched");
            Files.writeString(conf, "sketch.fields = client_ip,user\n");
            hup(weftd, "sketch.fields=client_ip,user");
            publish(weftd, "o-2");
            Poll.until(WAIT, () -> sketchedFields(weftd).equals(Map.of("client_ip", 2L, "user", 1L)),
                    () -> "client_ip kept, user added: " + sketchedFields(weftd));
        }
    }

    @Test
    void shouldLinkToAddedPeersAndDropRemovedOnesWhenSighupChangesPeers() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "peer.plaintext = 1\n");
        try (WeftdProcess b = WeftdProcess.builder().env("WEFT_DAEMON_ID", "b").env("WEFT_PEER_PLAINTEXT", "1")
                     .env("WEFT_PEER_LISTEN", "127.0.0.1:" + port).start();
             NotifyListener systemd = new NotifyListener(dir.resolve("notify.sock").toString(), text -> "");
             WeftdProcess a = started(conf, systemd)) {
            Files.writeString(conf, "peer.plaintext = 1\npeers = 127.0.0.1:" + port + "\n");
            hup(a, "peers=127.0.0.1:" + port);
            Poll.until(WAIT, () -> peers(a).equals(List.of("b")), "a linked to b");
            Files.writeString(conf, "peer.plaintext = 1\n");
            hup(a, "peers=off");
            Poll.until(WAIT, () -> peers(a).isEmpty() && peers(b).isEmpty(), "the link is gone on both sides");
        }
    }

    @Test
    void shouldFailThePeersPartOfTheReloadWhenWeftdStartedWithoutTls() throws Exception {
        io.weft.daemon.testing.Certs certs = io.weft.daemon.testing.Certs.create();
        certs.env("a");
        Path conf = Files.writeString(dir.resolve("weftd.conf"), "log.level = info\n");
        try (NotifyListener systemd = new NotifyListener(dir.resolve("notify.sock").toString(), text -> "");
             WeftdProcess weftd = started(conf, systemd)) {
            Files.writeString(conf, "tls.cert = " + certs.cert("a") + "\ntls.key = " + certs.key("a")
                    + "\ntls.ca = " + certs.ca() + "\npeers = 127.0.0.1:9\n");
            new ProcessBuilder("kill", "-HUP", Long.toString(weftd.pid())).start().waitFor();
            Poll.until(WAIT, () -> weftd.output().contains("msg=reloaded"), "the reload line");
            String line = weftd.output().lines().filter(l -> l.contains("msg=reloaded")).findFirst().orElseThrow();
            assertTrue(line.contains("level=WARN"), line);
            assertTrue(line.contains("need_restart=tls.cert,tls.key,tls.ca"), line);
            assertTrue(line.contains("failed=\"peers: weftd started without tls.cert"), line);
            assertTrue(peers(weftd).isEmpty(), "nothing was dialled");
        }
    }

    /** Sends SIGHUP and waits for the reload line that lists {@code applied}. */
    private static void hup(WeftdProcess weftd, String applied) throws Exception {
        new ProcessBuilder("kill", "-HUP", Long.toString(weftd.pid())).start().waitFor();
        Poll.until(WAIT, () -> weftd.output().contains("msg=reloaded applied=\"" + applied + "\""),
                () -> "a reload line with applied=" + applied + " in:\n" + weftd.output());
    }

    private static Boolean enabled(WeftdProcess weftd, String namespace) {
        com.google.protobuf.Struct all = StatsServiceGrpc.newBlockingStub(weftd.channel())
                .snapshot(SnapshotRequest.newBuilder().addNamespaces(namespace).build()).getNamespaces();
        return all.containsFields(namespace)
                ? all.getFieldsOrThrow(namespace).getStructValue().getFieldsOrThrow("Enabled").getBoolValue() : null;
    }

    private static void publish(WeftdProcess weftd, String id) {
        ContextServiceGrpc.newBlockingStub(weftd.channel()).publishEvents(PublishEventsRequest.newBuilder()
                .addEvents(ContextEvent.newBuilder().setId(id).setRoutingKey("shop.x").setSeq(1)
                        .setKind(EventKind.EVENT_KIND_TRANSIENT)
                        .setFields(Api.fields(Map.of("client_ip", "10.0.0.1", "user", "ann"))))
                .build());
    }

    private static Map<String, Long> sketchedFields(WeftdProcess weftd) {
        Map<String, Long> out = new java.util.TreeMap<>();
        for (FieldSketch f : ViewServiceGrpc.newBlockingStub(weftd.channel())
                .sketch(SketchRequest.getDefaultInstance()).getFieldsList()) {
            out.put(f.getField(), f.getCount());
        }
        return out;
    }

    private static List<String> peers(WeftdProcess weftd) {
        return AdminServiceGrpc.newBlockingStub(weftd.channel()).peers(PeersRequest.getDefaultInstance())
                .getPeersList().stream().map(Peer::getDaemonId).toList();
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
