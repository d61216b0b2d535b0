package io.weft.daemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import io.grpc.StatusRuntimeException;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@code daemon/target/weft} launcher against a real weftd holding three objects:
 * <ul>
 *   <li>{@code a1}: {@code web.request}, env=prod, finished, {@code elapsed} at two depths;
 *   <li>{@code a2}: {@code web.login}, env=dev, live;
 *   <li>{@code b1}: {@code db.query}, env=prod, transient, with an empty field.
 * </ul>
 */
class WeftCliIT {

    private static final long PROCESS_TIMEOUT_S = 60;

    private static WeftdProcess weftd;

    @BeforeAll
    static void startDaemonWithObjects() throws Exception {
        weftd = WeftdProcess.start();
        publish(
                event("a1", "web.request", EventKind.EVENT_KIND_BORN, 1, Map.of("env", "prod"),
                        fields("{\"url\": \"http://a\", \"elapsed\": 1, \"timing\": {\"elapsed\": 2}}")),
                event("a1", "web.request", EventKind.EVENT_KIND_FINISHED, 2, Map.of(), fields("{\"status\": 200}")),
                event("a2", "web.login", EventKind.EVENT_KIND_BORN, 1, Map.of("env", "dev"),
                        fields("{\"user\": \"ann\"}")),
                event("b1", "db.query", EventKind.EVENT_KIND_TRANSIENT, 1, Map.of("env", "prod"),
                        fields("{\"sql\": \"select 1\", \"empty\": \"\"}")));
        awaitObjects("a1", "a2", "b1");
    }

    @AfterAll
    static void stopDaemon() throws IOException {
        if (weftd != null) {
            weftd.close();
        }
    }

    @Test
    void shouldReportServingWithTheDaemonIdWhenHealthy() throws Exception {
        Run r = weft("health");
        assertEquals(0, r.code, r.toString());
        assertTrue(r.out.startsWith("SERVING daemon=test-"), r.toString());
        assertTrue(r.out.contains(" uptime=") && r.out.contains(" addr=" + weftd.target()), r.toString());
    }

    @Test
    void shouldListObjectsMatchingTheRoutingKeyWhenFiltered() throws Exception {
        Run r = weft("ls", "-r", "web.#", "-k", "url", "user");
        assertEquals(0, r.code, r.toString());
        assertEquals(List.of("{\"user\":\"ann\"}", "{\"url\":\"http://a\"}"), r.lines(), "live first, then finished");
    }

    @Test
    void shouldExtractEveryMatchBreadthFirstWhenTheKeyIsStarred() throws Exception {
        Run r = weft("ls", "-r", "web.*", "-a", "env=prod", "-k", "*elapsed");
        assertEquals(0, r.code, r.toString());
        assertEquals(List.of("{\"elapsed\":[1,2]}"), r.lines());
    }

    @Test
    void shouldMatchAnyHeaderAndStateWhenAsked() throws Exception {
        Run r = weft("ls", "-a", "env=dev", "team=nope", "-x", "any", "--state", "live", "-k", "user");
        assertEquals(0, r.code, r.toString());
        assertEquals(List.of("{\"user\":\"ann\"}"), r.lines());
    }

    @Test
    void shouldPrintAnEnvelopeThatReadsBackWhenVerbose() throws Exception {
        Run r = weft("ls", "--state", "transient", "-z", "-t", "sql", "-v");
        assertEquals(0, r.code, r.toString());
        assertEquals(1, r.lines().size(), r.toString());
        ContextObject o = ObjectJson.parseVerbose(r.lines().get(0));
        assertEquals("b1", o.getId());
        assertEquals("db.query", o.getRoutingKey());
        assertEquals(ObjectState.OBJECT_STATE_TRANSIENT, o.getState());
        assertEquals(Map.of("env", "prod"), o.getHeadersMap());
        assertEquals(Struct.getDefaultInstance(), o.getFields(), "sql trimmed, empty dropped");
    }

    @Test
    void shouldStopAtTheLimitWhenListing() throws Exception {
        Run r = weft("ls", "--limit", "2");
        assertEquals(0, r.code, r.toString());
        assertEquals(2, r.lines().size(), r.toString());
    }

    @Test
    void shouldPrintTheProjectedObjectWhenGetFindsIt() throws Exception {
        Run r = weft("get", "a1", "-k", "status", "url", "-p");
        assertEquals(0, r.code, r.toString());
        assertEquals("{\n  \"status\": 200,\n  \"url\": \"http://a\"\n}\n", r.out);
    }

    @Test
    void shouldNameTheIdAndReasonWhenGetFindsNothing() throws Exception {
        Run r = weft("get", "nope");
        assertEquals(1, r.code, r.toString());
        assertEquals("error: no object with id \"nope\" (reason UNKNOWN_OBJECT)\n", r.err);
    }

    @Test
    void shouldRefuseAMalformedPatternWithoutCallingTheDaemon() throws Exception {
        Run r = weft("ls", "-r", "a..b");
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("word 2 (at offset 2) is empty"), r.toString());
    }

    @Test
    void shouldNameTheAddressWhenNoDaemonListens(@TempDir Path dir) throws Exception {
        String addr = "unix://" + dir.resolve("absent.sock");
        Run r = run(List.of("health"), addr);
        assertEquals(1, r.code, r.toString());
        assertEquals("error: cannot reach weftd at " + addr + ": the socket file does not exist"
                + " (is weftd running? set --addr or WEFT_ADDR)\n", r.err);
    }

    @Test
    void shouldExitTwoWhenUsageIsWrong() throws Exception {
        Run r = weft("ls", "-x", "maybe");
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.startsWith("error: Invalid value for option '--xmatch'"), r.toString());
    }

    private static Run weft(String... args) throws Exception {
        return run(List.of(args), weftd.target());
    }

    private static Run run(List<String> args, String addr) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(WeftdProcess.launcherDir().resolve("weft").toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("WEFT_"));
        pb.environment().put("WEFT_ADDR", addr);
        Process p = pb.start();
        p.getOutputStream().close();
        // Outputs are small: read stdout fully, then stderr, without risk of filling a pipe.
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(PROCESS_TIMEOUT_S, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("weft " + args + " did not exit within " + PROCESS_TIMEOUT_S + "s");
        }
        return new Run(p.exitValue(), out, err);
    }

    private static void publish(ContextEvent... events) {
        ContextServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(30, TimeUnit.SECONDS)
                .publishEvents(PublishEventsRequest.newBuilder().addAllEvents(List.of(events)).build());
    }

    private static void awaitObjects(String... ids) {
        ViewServiceGrpc.ViewServiceBlockingStub view = ViewServiceGrpc.newBlockingStub(weftd.channel());
        for (String id : ids) {
            Poll.until(Duration.ofSeconds(30), () -> exists(view, id), () -> "object " + id + "\n" + weftd.output());
        }
    }

    private static boolean exists(ViewServiceGrpc.ViewServiceBlockingStub view, String id) {
        try {
            view.withDeadlineAfter(5, TimeUnit.SECONDS).getObject(GetObjectRequest.newBuilder().setId(id).build());
            return true;
        } catch (StatusRuntimeException e) {
            return false;
        }
    }

    private static ContextEvent event(String id, String routingKey, EventKind kind, long seq,
            Map<String, String> headers, Struct fields) {
        return ContextEvent.newBuilder().setId(id).setRoutingKey(routingKey).setKind(kind).setSeq(seq)
                .putAllHeaders(headers).setFields(fields).build();
    }

    private static Struct fields(String json) {
        return ObjectJson.parseVerbose("{\"obj\": " + json + "}").getFields();
    }

    /** One finished {@code weft} run. */
    private record Run(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        @Override
        public String toString() {
            return "exit " + code + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }
}
