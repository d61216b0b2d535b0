package io.weft.daemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.GetObjectResponse;
import io.weft.api.v1.HeaderMatch;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.InfoResponse;
import io.weft.api.v1.ListObjectsRequest;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.Projection;
import io.weft.api.v1.Source;
import io.weft.api.v1.ViewServiceGrpc;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end against fake services on an in-process channel. */
class WeftCliTest {

    private static final Map<String, String> ENV = Map.of("WEFT_ADDR", "127.0.0.1:1");

    private final FakeView view = new FakeView();
    private final HealthStatusManager health = new HealthStatusManager();
    private String serverName;
    private Server server;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeEach
    void startServer() throws Exception {
        serverName = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(serverName).directExecutor()
                .addService(view)
                .addService(health.getHealthService())
                .addService(new FakeAdmin())
                .build()
                .start();
        health.setStatus("", HealthCheckResponse.ServingStatus.SERVING);
    }

    @AfterEach
    void stopServer() {
        server.shutdownNow();
    }

    @Test
    void shouldSendFilterAndProjectionWhenListingWithOptions() {
        int code = run("ls", "-r", "web.#", "db.*", "-a", "env=prod", "team=", "-x", "any",
                "--state", "live", "--state", "FINISHED", "-k", "url", "*elapsed", "-t", "secret", "-z");
        assertEquals(0, code, err.toString());
        ListObjectsRequest r = view.lists.get(0);
        assertEquals(ObjectFilter.newBuilder()
                .addRoutingKeys("web.#").addRoutingKeys("db.*")
                .putHeaders("env", "prod").putHeaders("team", "")
                .setHeaderMatch(HeaderMatch.HEADER_MATCH_ANY)
                .addStates(ObjectState.OBJECT_STATE_LIVE).addStates(ObjectState.OBJECT_STATE_FINISHED)
                .build(), r.getFilter());
        assertEquals(Projection.newBuilder().addKeys("url").addKeys("*elapsed").addTrim("secret").setDropEmpty(true)
                .build(), r.getProjection());
        assertEquals(100, r.getPageSize());
    }

    @Test
    void shouldSendAnEmptyFilterWhenListingWithoutOptions() {
        assertEquals(0, run("ls"));
        assertEquals(ObjectFilter.newBuilder().setHeaderMatch(HeaderMatch.HEADER_MATCH_ALL).build(),
                view.lists.get(0).getFilter());
        assertEquals(Projection.getDefaultInstance(), view.lists.get(0).getProjection());
    }

    @Test
    void shouldFollowPagesUpToTheLimitWhenListing() {
        view.objects = objects(7);
        view.pageCap = 3;
        assertEquals(0, run("ls", "--limit", "5"));
        assertEquals(List.of("{\"n\":0}", "{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"), lines(out));
        assertEquals(List.of(5, 2), view.lists.stream().map(ListObjectsRequest::getPageSize).toList());
        assertEquals("", view.lists.get(0).getPageToken());
        assertEquals("3", view.lists.get(1).getPageToken());
    }

    @Test
    void shouldListEverythingWhenTheLimitIsZero() {
        view.objects = objects(7);
        view.pageCap = 3;
        assertEquals(0, run("ls", "-n", "0"));
        assertEquals(7, lines(out).size());
        assertEquals(3, view.lists.size());
    }

    @Test
    void shouldPrintTheEnvelopeWhenVerbose() {
        view.objects = objects(1);
        assertEquals(0, run("ls", "-v"));
        assertTrue(out.toString().startsWith("{\"id\":\"o0\",\"rkey\":\"a.b\","), out.toString());
    }

    @Test
    void shouldPrintTheObjectWhenGetFindsIt() {
        view.objects = objects(3);
        assertEquals(0, run("get", "o1", "-k", "n", "-p"));
        assertEquals("{\n  \"n\": 1\n}\n", out.toString());
        assertEquals(GetObjectRequest.newBuilder().setId("o1").setProjection(Projection.newBuilder().addKeys("n"))
                .setSource(Source.SOURCE_LOCAL).build(), view.gets.get(0));
    }

    @Test
    void shouldNameTheIdAndReasonWhenGetFindsNothing() {
        assertEquals(1, run("get", "nope"));
        assertEquals("error: no object with id \"nope\" (reason UNKNOWN_OBJECT)\n", err.toString());
        assertEquals("", out.toString());
    }

    @Test
    void shouldPrintDescriptionAndReasonWhenTheDaemonRefuses() {
        view.failWith = daemonError(Code.INVALID_ARGUMENT, "page token is not one of ours", "INVALID_ARGUMENT");
        assertEquals(1, run("ls"));
        assertEquals("error: page token is not one of ours (reason INVALID_ARGUMENT)\n", err.toString());
    }

    @Test
    void shouldPrintServingAndIdentityWhenHealthy() {
        assertEquals(0, run("health"));
        assertEquals("SERVING daemon=h1 version=9.9 uptime=1m12s addr=127.0.0.1:1\n", out.toString());
    }

    @Test
    void shouldExitOneWhenNotServing() {
        health.setStatus("", HealthCheckResponse.ServingStatus.NOT_SERVING);
        assertEquals(1, run("health"));
        assertEquals("NOT_SERVING addr=127.0.0.1:1\n", out.toString());
        assertEquals("error: weftd at 127.0.0.1:1 is NOT_SERVING\n", err.toString());
    }

    @Test
    void shouldNameTheAddressWhenTheDaemonIsUnreachable(@TempDir Path dir) {
        Path socket = dir.resolve("absent.sock");
        int code = WeftCli.execute(new String[] {"health", "--addr", "unix://" + socket}, ENV, ChannelFactory.netty(),
                new PrintWriter(out), new PrintWriter(err));
        assertEquals(1, code);
        assertEquals("error: cannot reach weftd at unix://" + socket + ": the socket file does not exist"
                + " (is weftd running? set --addr or WEFT_ADDR)\n", err.toString());
    }

    @Test
    void shouldTakeGlobalOptionsWhenGivenBeforeOrAfterTheCommand() {
        assertEquals(0, run("--addr", "localhost:5", "health"));
        assertTrue(out.toString().endsWith("addr=localhost:5\n"), out.toString());
        StringWriter second = new StringWriter();
        WeftCli.execute(new String[] {"health", "--addr=/tmp/w.sock", "--timeout", "250ms"}, ENV, this::channel,
                new PrintWriter(second), new PrintWriter(err));
        assertTrue(second.toString().endsWith("addr=unix:///tmp/w.sock\n"), second.toString());
    }

    @Test
    void shouldExitTwoWhenUsageIsWrong() {
        assertUsageError("error: Unknown option: '--bogus'", "ls", "--bogus");
        assertUsageError("expected one of [ALL, ANY] (case-insensitive) but was 'some'", "ls", "-x", "some");
        assertUsageError("NAME=VALUE", "ls", "-a", "env");
        assertUsageError("-a gives header 'env' twice", "ls", "-a", "env=a", "env=b");
        assertUsageError("word 2 (at offset 2) is empty", "ls", "-r", "a..b");
        assertUsageError("--limit", "ls", "--limit", "-1");
        assertUsageError("a duration needs a unit", "--timeout", "5", "health");
        assertUsageError("expected unix:///absolute/path or host:port", "--addr", "nowhere", "health");
        assertUsageError("missing command", new String[0]);
        assertUsageError("ID", "get");
    }

    @Test
    void shouldBlameWeftAddrWhenTheEnvironmentAddressIsMalformed() {
        int code = WeftCli.execute(new String[] {"health"}, Map.of("WEFT_ADDR", "nowhere"), this::channel,
                new PrintWriter(out), new PrintWriter(err));
        assertEquals(2, code);
        assertTrue(err.toString().contains("WEFT_ADDR nowhere: expected"), err.toString());
    }

    @Test
    void shouldDocumentEveryOptionWithItsDefaultWhenAskedForHelp() {
        for (String command : new String[] {"ls", "get", "health"}) {
            StringWriter help = new StringWriter();
            assertEquals(0, WeftCli.execute(new String[] {command, "--help"}, ENV, this::channel,
                    new PrintWriter(help), new PrintWriter(err)));
            assertTrue(help.toString().contains("--addr"), command + ": " + help);
            assertTrue(help.toString().contains("Default: 5s"), command + ": " + help);
        }
        StringWriter ls = new StringWriter();
        WeftCli.execute(new String[] {"ls", "-h"}, ENV, this::channel, new PrintWriter(ls), new PrintWriter(err));
        for (String option : new String[] {"--rkey", "--arg", "--xmatch", "--state", "--keys", "--trim",
            "--drop-empty", "--pretty", "--verbose", "--limit"}) {
            assertTrue(ls.toString().contains(option), option + " in " + ls);
        }
        assertTrue(ls.toString().contains("Default: 100"), ls.toString());
    }

    private void assertUsageError(String expected, String... args) {
        StringWriter e = new StringWriter();
        int code = WeftCli.execute(args, ENV, this::channel, new PrintWriter(new StringWriter()), new PrintWriter(e));
        assertEquals(2, code, String.join(" ", args) + ": " + e);
        assertTrue(e.toString().contains(expected), String.join(" ", args) + ": " + e);
        assertTrue(e.toString().contains("--help' for more information."), String.join(" ", args) + ": " + e);
    }

    private int run(String... args) {
        return WeftCli.execute(args, ENV, this::channel, new PrintWriter(out), new PrintWriter(err));
    }

    private io.grpc.ManagedChannel channel(DaemonAddress address) {
        return InProcessChannelBuilder.forName(serverName).directExecutor().build();
    }

    private static List<String> lines(StringWriter w) {
        return w.toString().lines().toList();
    }

    private static List<ContextObject> objects(int n) {
        List<ContextObject> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(ContextObject.newBuilder().setId("o" + i).setRoutingKey("a.b")
                    .setState(ObjectState.OBJECT_STATE_LIVE)
                    .setFields(Struct.newBuilder().putFields("n", Value.newBuilder().setNumberValue(i).build()))
                    .build());
        }
        return out;
    }

    private static io.grpc.StatusRuntimeException daemonError(Code code, String message, String reason) {
        return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                .setCode(code.getNumber())
                .setMessage(message)
                .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain("weft").setReason(reason).build()))
                .build());
    }

    /** Serves {@link #objects} in pages of at most {@link #pageCap}; the page token is the next index. */
    private static final class FakeView extends ViewServiceGrpc.ViewServiceImplBase {
        final List<ListObjectsRequest> lists = new ArrayList<>();
        final List<GetObjectRequest> gets = new ArrayList<>();
        List<ContextObject> objects = List.of();
        int pageCap = 1000;
        io.grpc.StatusRuntimeException failWith;

        @Override
        public void listObjects(ListObjectsRequest request, StreamObserver<ListObjectsResponse> reply) {
            lists.add(request);
            if (failWith != null) {
                reply.onError(failWith);
                return;
            }
            int from = request.getPageToken().isEmpty() ? 0 : Integer.parseInt(request.getPageToken());
            int to = Math.min(objects.size(), from + Math.min(pageCap, request.getPageSize()));
            ListObjectsResponse.Builder r = ListObjectsResponse.newBuilder().addAllObjects(objects.subList(from, to));
            if (to < objects.size()) {
                r.setNextPageToken(Integer.toString(to));
            }
            reply.onNext(r.build());
            reply.onCompleted();
        }

        @Override
        public void getObject(GetObjectRequest request, StreamObserver<GetObjectResponse> reply) {
            gets.add(request);
            for (ContextObject o : objects) {
                if (o.getId().equals(request.getId())) {
                    Struct projected = io.weft.daemon.view.Projector.compile(request.getProjection()).apply(o.getFields());
                    reply.onNext(GetObjectResponse.newBuilder().setObject(o.toBuilder().setFields(projected)).build());
                    reply.onCompleted();
                    return;
                }
            }
            reply.onError(daemonError(Code.NOT_FOUND, "no object " + request.getId(), "UNKNOWN_OBJECT"));
        }
    }

    private static final class FakeAdmin extends AdminServiceGrpc.AdminServiceImplBase {
        @Override
        public void info(InfoRequest request, StreamObserver<InfoResponse> reply) {
            reply.onNext(InfoResponse.newBuilder().setDaemonId("h1").setVersion("9.9")
                    .setUptime(com.google.protobuf.Duration.newBuilder().setSeconds(72).setNanos(5)).build());
            reply.onCompleted();
        }
    }
}
