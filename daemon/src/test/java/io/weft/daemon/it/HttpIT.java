package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.Value;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.AddOp;
import io.weft.api.v1.AppendOp;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.DeriveOp;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.PutOp;
import io.weft.api.v1.RecordRequest;
import io.weft.api.v1.RecordResponse;
import io.weft.api.v1.SetOp;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsPath;
import io.weft.api.v1.StatsServiceGrpc;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The HTTP listener against a real weftd: health, readiness, JSON, and /metrics read by real parsers. */
class HttpIT {

    /** Records a fixed set of statistics and publishes a few events, waiting until they are applied. */
    static void populate(WeftdProcess weftd) {
        List<RecordResponse> acks = new CopyOnWriteArrayList<>();
        StreamObserver<RecordRequest> in = StatsServiceGrpc.newStub(weftd.channel()).record(StatsApiIT.collect(acks));
        List<StatsOp> ops = new ArrayList<>();
        ops.add(op("My Stuff").setAdd(AddOp.newBuilder().setPath(path("Important Events")).setDelta(12345)).build());
        ops.add(op("My Stuff").setSet(SetOp.newBuilder().setPath(path("Requests/sec (avg)"))
                .setValue(Value.newBuilder().setNumberValue(2.5))).build());
        ops.add(op("My Stuff").setSet(SetOp.newBuilder().setPath(path("Host"))
                .setValue(Value.newBuilder().setStringValue("web-1"))).build());
        ops.add(op("My Stuff").setSet(SetOp.newBuilder().setPath(path("Cache \"hot\""))
                .setValue(Value.newBuilder().setBoolValue(true))).build());
        ops.add(op("My Stuff").setPut(PutOp.newBuilder().setCollection("Table Statistics").setRecordKey("widgets")
                .setRecord(ordered("Rows", 1300000, "Inserts", 400))).build());
        ops.add(op("My Stuff").setPut(PutOp.newBuilder().setCollection("Table Statistics").setRecordKey("froobles")
                .setRecord(ordered("Rows", 7845, "Inserts", 0))).build());
        ops.add(op("My Stuff").setAppend(AppendOp.newBuilder().setCollection("Slow Queries")
                .setRecord(Api.fields(Map.of("Query", "SELECT * FROM widgets;", "Processing Time", 47.84)))).build());
        ops.add(op("My Stuff").setDerive(DeriveOp.newBuilder().setKey("Total Rows")
                .setExpression("sum(Table Statistics, Rows)")).build());
        ops.add(op("My Stuff").setDerive(DeriveOp.newBuilder().setKey("Broken").setExpression("[Host] + 1")).build());
        ops.add(op("Other").setAdd(AddOp.newBuilder().setPath(path("Important Events")).setDelta(7)).build());
        in.onNext(RecordRequest.newBuilder().setBatchSeq(1).addAllOps(ops).build());
        Poll.until(() -> !acks.isEmpty() && acks.get(acks.size() - 1).getLastBatchSeq() == 1, () -> "stats applied");
        in.onCompleted();
        PublishEventsRequest.Builder events = PublishEventsRequest.newBuilder();
        for (int i = 0; i < 5; i++) {
            events.addEvents(ContextEvent.newBuilder().setId("req-" + i).setRoutingKey("shop.checkout").setSeq(1)
                    .setKind(EventKind.EVENT_KIND_BORN).setFields(Api.fields(Map.of("url", "/cart/" + i))));
        }
        ContextServiceGrpc.newBlockingStub(weftd.channel()).publishEvents(events.build());
    }

    /** A record whose values keep this order (the dashboard's columns follow it). */
    private static com.google.protobuf.Struct ordered(String k1, double v1, String k2, double v2) {
        return com.google.protobuf.Struct.newBuilder()
                .putFields(k1, Value.newBuilder().setNumberValue(v1).build())
                .putFields(k2, Value.newBuilder().setNumberValue(v2).build())
                .build();
    }

    private static StatsOp.Builder op(String ns) {
        return StatsOp.newBuilder().setNamespace(ns);
    }

    private static StatsPath path(String key) {
        return StatsPath.newBuilder().setKey(key).build();
    }

    @Test
    void shouldAnswerHealthReadinessAndJsonWhenAsked() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().http(true).start()) {
            populate(weftd);
            int port = weftd.httpPort();
            assertEquals(200, Tools.get(port, "/healthz").statusCode());
            assertEquals("ok\n", Tools.get(port, "/healthz").body());
            assertEquals(200, Tools.get(port, "/readyz").statusCode());
            assertEquals(404, Tools.get(port, "/nope").statusCode());
            assertEquals(405, Tools.get(port, "/metrics", "POST").statusCode());

            HttpResponse<String> stats = Tools.get(port, "/stats.json");
            assertEquals("application/json", stats.headers().firstValue("Content-Type").orElse(""));
            JsonObject my = JsonParser.parseString(stats.body()).getAsJsonObject().getAsJsonObject("namespaces")
                    .getAsJsonObject("My Stuff");
            assertEquals(12345.0, my.get("Important Events").getAsDouble());
            assertEquals(1307845.0, my.get("Total Rows").getAsDouble());
            assertTrue(my.get("Broken").isJsonNull());
            JsonArray errors = JsonParser.parseString(stats.body()).getAsJsonObject().getAsJsonArray("errors");
            assertEquals("Broken", errors.get(0).getAsJsonObject().get("key").getAsString());

            Poll.until(() -> body(port, "/objects.json").contains("req-4"), () -> "live objects in /objects.json");
            JsonObject recent = JsonParser.parseString(Tools.get(port, "/recent.json").body()).getAsJsonObject();
            assertEquals("shop.checkout", recent.getAsJsonArray("keys").get(0).getAsJsonObject().get("routingKey")
                    .getAsString());
        }
    }

    private static String body(int port, String path) {
        try {
            return Tools.get(port, path).body();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void shouldServeMetricsThatPrometheusParsersReadWhenScraped() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().http(true).start()) {
            populate(weftd);
            // The broker republishes its counters every 100 ms: wait until they include the events.
            Poll.until(() -> body(weftd.httpPort(), "/metrics").contains("\nweftd_events_in_total 5\n"),
                    () -> "weftd_events_in_total 5 in /metrics");
            HttpResponse<String> resp = Tools.get(weftd.httpPort(), "/metrics");
            assertEquals(200, resp.statusCode());
            assertEquals("text/plain; version=0.0.4; charset=utf-8", resp.headers().firstValue("Content-Type").orElse(""));
            String text = resp.body();
            Path file = Path.of("target", "metrics-sample.txt");
            Files.writeString(file, text);

            // promtool (Debian's prometheus package): the exposition parses (exit 1 otherwise); its lint
            // (exit 3) may only object to names the client chose ("Requests/sec" has an abbreviated unit),
            // never to weftd's own families.
            String promtool = Tools.require("promtool", "prometheus");
            Tools.Result check = Tools.runAny(Duration.ofSeconds(30), text, List.of(promtool, "check", "metrics"));
            assertTrue(check.exit() == 0 || check.exit() == 3, check::toString);
            for (String line : check.output().lines().toList()) {
                assertTrue(line.startsWith("weft_requests_sec_avg "), () -> "promtool: " + line);
            }

            // prometheus_client's parser: the families, labels and values come back as written.
            String json = Tools.run(Duration.ofSeconds(60), text, List.of(Tools.prometheusPython().toString(),
                    Path.of("src/test/python/parse_metrics.py").toAbsolutePath().toString()));
            JsonObject families = JsonParser.parseString(json).getAsJsonObject();
            assertEquals(12345.0, sample(families, "weft_important_events", Map.of("namespace", "My Stuff")));
            assertEquals(7.0, sample(families, "weft_important_events", Map.of("namespace", "Other")));
            assertEquals(2.5, sample(families, "weft_requests_sec_avg", Map.of("namespace", "My Stuff")));
            assertEquals(1.0, sample(families, "weft_cache_hot", Map.of("namespace", "My Stuff")));
            assertEquals(1300000.0, sample(families, "weft_rows", Map.of("namespace", "My Stuff",
                    "collection", "Table Statistics", "record", "widgets")));
            assertEquals(47.84, sample(families, "weft_processing_time", Map.of("namespace", "My Stuff",
                    "collection", "Slow Queries", "record", "0")));
            assertEquals(1307845.0, sample(families, "weft_total_rows", Map.of("namespace", "My Stuff")));
            assertFalse(families.has("weft_host"), "strings are not metrics");
            assertFalse(families.has("weft_broken"), "a failed derived value is left out");
            assertEquals("gauge", families.getAsJsonObject("weft_rows").get("type").getAsString());

            JsonObject eventsIn = families.getAsJsonObject("weftd_events_in");
            assertEquals("counter", eventsIn.get("type").getAsString());
            assertEquals("Events received from clients.", eventsIn.get("help").getAsString());
            assertEquals(5.0, sample(families, "weftd_events_in", Map.of()));
            assertEquals(65536.0, sample(families, "weftd_queue_capacity", Map.of("queue", "inbound")));
            assertEquals(0.0, sample(families, "weftd_queue_drops", Map.of("queue", "inbound", "cause", "full")));
            assertTrue(sample(families, "weftd_uptime_seconds", Map.of()) > 0);
            assertEquals("gauge", families.getAsJsonObject("weftd_broker_cycle_p99_seconds").get("type").getAsString());
            assertEquals(10.0, sample(families, "weftd_stats_ops", Map.of("outcome", "applied")));
        }
    }

    /** The value of the sample of a family with exactly these labels; fails when there is none. */
    private static double sample(JsonObject families, String family, Map<String, String> labels) {
        JsonObject f = families.getAsJsonObject(family);
        if (f == null) {
            throw new AssertionError("no family " + family + " in " + families.keySet());
        }
        for (JsonElement s : f.getAsJsonArray("samples")) {
            JsonArray a = s.getAsJsonArray();
            Map<String, String> l = new HashMap<>();
            a.get(1).getAsJsonObject().entrySet().forEach(e -> l.put(e.getKey(), e.getValue().getAsString()));
            if (l.equals(labels)) {
                return a.get(2).getAsDouble();
            }
        }
        throw new AssertionError("no sample " + family + labels + " in " + f);
    }

    @Test
    void shouldNotListenWhenHttpIsOff() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            assertFalse(weftd.output().contains(" http="), weftd.output());
        }
    }

}
