package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.AddOp;
import io.weft.api.v1.AppendOp;
import io.weft.api.v1.DeriveOp;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.OpRejection;
import io.weft.api.v1.PutOp;
import io.weft.api.v1.RecordRequest;
import io.weft.api.v1.RecordResponse;
import io.weft.api.v1.RemoveOp;
import io.weft.api.v1.SetEnabledRequest;
import io.weft.api.v1.SetOp;
import io.weft.api.v1.SnapshotRequest;
import io.weft.api.v1.SnapshotResponse;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsPath;
import io.weft.api.v1.StatsServiceGrpc;
import io.weft.api.v1.WatchEnabledRequest;
import io.weft.api.v1.WatchEnabledResponse;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** StatsService against a real weftd: Record, Snapshot, SetEnabled and WatchEnabled. */
class StatsApiIT {

    /** A Record stream that keeps every ack. */
    private static final class Recorder implements AutoCloseable {
        final List<RecordResponse> acks = new CopyOnWriteArrayList<>();
        final StreamObserver<RecordRequest> in;
        long seq;

        Recorder(WeftdProcess weftd) {
            in = StatsServiceGrpc.newStub(weftd.channel()).record(new StreamObserver<>() {
                @Override
                public void onNext(RecordResponse r) {
                    acks.add(r);
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            });
        }

        /** Sends one batch and waits until it is acknowledged; returns the rejections of that ack onwards. */
        List<OpRejection> send(StatsOp... ops) {
            long s = ++seq;
            int before = acks.size();
            in.onNext(RecordRequest.newBuilder().setBatchSeq(s).addAllOps(List.of(ops)).build());
            Poll.until(() -> !acks.isEmpty() && last().getLastBatchSeq() >= s, () -> "ack of batch " + s);
            List<OpRejection> out = new ArrayList<>();
            for (RecordResponse r : acks.subList(before, acks.size())) {
                out.addAll(r.getRejectionsList());
            }
            return out;
        }

        RecordResponse last() {
            return acks.get(acks.size() - 1);
        }

        @Override
        public void close() {
            in.onCompleted();
        }
    }

    private static StatsPath key(String k) {
        return StatsPath.newBuilder().setKey(k).build();
    }

    private static StatsOp add(String ns, StatsPath path, double d) {
        return StatsOp.newBuilder().setNamespace(ns).setAdd(AddOp.newBuilder().setPath(path).setDelta(d)).build();
    }

    private static StatsOp set(String ns, String k, Value v) {
        return StatsOp.newBuilder().setNamespace(ns).setSet(SetOp.newBuilder().setPath(key(k)).setValue(v)).build();
    }

    private static StatsOp put(String ns, String coll, String rec, Struct fields) {
        return StatsOp.newBuilder().setNamespace(ns)
                .setPut(PutOp.newBuilder().setCollection(coll).setRecordKey(rec).setRecord(fields)).build();
    }

    private static StatsOp derive(String ns, String coll, String k, String expr) {
        return StatsOp.newBuilder().setNamespace(ns)
                .setDerive(DeriveOp.newBuilder().setCollection(coll).setKey(k).setExpression(expr)).build();
    }

    private static Value num(double d) {
        return Value.newBuilder().setNumberValue(d).build();
    }

    private static Struct ns(SnapshotResponse s, String name) {
        return s.getNamespaces().getFieldsOrThrow(name).getStructValue();
    }

    @Test
    void shouldApplyRecordedOpsAndReportThemExtrapolatedWhenSnapshotted() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start(); Recorder rec = new Recorder(weftd)) {
            StatsServiceGrpc.StatsServiceBlockingStub stats = StatsServiceGrpc.newBlockingStub(weftd.channel());
            List<OpRejection> none = rec.send(
                    add("My Stuff", key("Important Events"), 40),
                    add("My Stuff", key("Important Events"), 2),
                    set("My Stuff", "Host", Value.newBuilder().setStringValue("web-1").build()),
                    set("My Stuff", "Gone", num(1)),
                    StatsOp.newBuilder().setNamespace("My Stuff").setRemove(RemoveOp.newBuilder().setPath(key("Gone")))
                            .build(),
                    put("My Stuff", "Table Statistics", "widgets", Api.fields(Map.of("Rows", 30, "Inserts", 3))),
                    put("My Stuff", "Table Statistics", "froobles", Api.fields(Map.of("Rows", 10, "Inserts", 1))),
                    add("My Stuff", StatsPath.newBuilder().setCollection("Table Statistics").setRecordKey("froobles")
                            .setKey("Inserts").build(), 1),
                    StatsOp.newBuilder().setNamespace("My Stuff").setAppend(AppendOp.newBuilder()
                            .setCollection("Slow Queries").setMaxLen(2)
                            .setRecord(Api.fields(Map.of("Query", "SELECT 1", "Seconds", 2)))).build(),
                    derive("My Stuff", "", "Total Rows", "sum(Table Statistics, Rows)"),
                    derive("My Stuff", "", "Twice", "[Important Events] * 2"),
                    derive("My Stuff", "Table Statistics", "Rows/Insert", "Rows / Inserts"),
                    add("Other", key("n"), 1));
            assertEquals(List.of(), none);
            assertEquals(13, rec.last().getApplied());

            SnapshotResponse snap = stats.snapshot(SnapshotRequest.newBuilder().addNamespaces("My Stuff").build());
            assertEquals(List.of("My Stuff"), List.copyOf(snap.getNamespaces().getFieldsMap().keySet()));
            Struct my = ns(snap, "My Stuff");
            assertTrue(my.getFieldsOrThrow("Enabled").getBoolValue());
            assertEquals(42.0, my.getFieldsOrThrow("Important Events").getNumberValue());
            assertEquals("web-1", my.getFieldsOrThrow("Host").getStringValue());
            assertFalse(my.containsFields("Gone"));
            assertEquals(40.0, my.getFieldsOrThrow("Total Rows").getNumberValue());
            assertEquals(84.0, my.getFieldsOrThrow("Twice").getNumberValue());
            Struct froobles = my.getFieldsOrThrow("Table Statistics").getStructValue().getFieldsOrThrow("froobles")
                    .getStructValue();
            assertEquals(2.0, froobles.getFieldsOrThrow("Inserts").getNumberValue());
            assertEquals(5.0, froobles.getFieldsOrThrow("Rows/Insert").getNumberValue());
            assertEquals("SELECT 1", my.getFieldsOrThrow("Slow Queries").getListValue().getValues(0).getStructValue()
                    .getFieldsOrThrow("Query").getStringValue());
            // Reporting twice changes nothing stored.
            assertEquals(snap.getNamespaces(), stats.snapshot(SnapshotRequest.newBuilder().addNamespaces("My Stuff")
                    .build()).getNamespaces());
            assertTrue(stats.snapshot(SnapshotRequest.getDefaultInstance()).getNamespaces().containsFields("Other"));
        }
    }

    @Test
    void shouldHoldAFastRecordStreamBackWithoutLossWhenItsClientQuotaIsReached() throws Exception {
        int batches = 100;
        int perBatch = 500;
        try (WeftdProcess weftd = WeftdProcess.builder().env("WEFT_INBOUND_CLIENT_QUOTA", "64").start();
                Recorder rec = new Recorder(weftd)) {
            // Sent without waiting: every batch is far above the quota, so weftd has to stop reading.
            for (int b = 1; b <= batches; b++) {
                RecordRequest.Builder req = RecordRequest.newBuilder().setBatchSeq(b);
                for (int i = 0; i < perBatch; i++) {
                    req.addOps(add("Flood", key("n"), 1));
                }
                rec.in.onNext(req.build());
            }
            Poll.until(() -> !rec.acks.isEmpty() && rec.last().getApplied() + rec.last().getDropped()
                    == (long) batches * perBatch, () -> "every op acknowledged, last ack " + rec.last());
            assertEquals(0, rec.last().getDropped());
            SnapshotResponse snap = StatsServiceGrpc.newBlockingStub(weftd.channel()).withDeadlineAfter(10,
                    TimeUnit.SECONDS).snapshot(SnapshotRequest.newBuilder().addNamespaces("Flood").build());
            assertEquals(batches * perBatch, ns(snap, "Flood").getFieldsOrThrow("n").getNumberValue());
        }
    }

    @Test
    void shouldSkipBadOpsAloneWithTheirReasonAndPositionWhenRecording() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start(); Recorder rec = new Recorder(weftd)) {
            Struct fiveLevels = Struct.newBuilder().putFields("Rows", Value.newBuilder()
                    .setStructValue(Api.fields(Map.of("deeper", 1))).build()).build();
            List<OpRejection> rejected = rec.send(
                    add("ns", key("ok"), 1),
                    derive("ns", "", "Bad", "1 + * 2"),
                    put("ns", "Tables", "widgets", fiveLevels),
                    set("ns", "text", Value.newBuilder().setStringValue("x").build()),
                    add("ns", key("text"), 1),
                    derive("ns", "", "Broken", "ok / (ok - 2)"),
                    add("ns", key("ok"), 1));
            assertEquals(3, rejected.size(), rejected::toString);
            assertEquals(ErrorReason.ERROR_REASON_BAD_EXPRESSION, rejected.get(0).getReason());
            assertEquals(1, rejected.get(0).getIndex());
            assertEquals(5, rejected.get(0).getPosition());
            assertEquals("derive 'Bad': unexpected '*' at position 5: 1 + * 2", rejected.get(0).getDescription());
            assertEquals(ErrorReason.ERROR_REASON_TOO_DEEP, rejected.get(1).getReason());
            assertTrue(rejected.get(1).getDescription().contains("a 5th level"), rejected.get(1).getDescription());
            assertEquals(ErrorReason.ERROR_REASON_STATS_CONFLICT, rejected.get(2).getReason());
            assertEquals(4, rec.last().getApplied());
            assertEquals(3, rec.last().getRejected());

            SnapshotResponse snap = StatsServiceGrpc.newBlockingStub(weftd.channel())
                    .snapshot(SnapshotRequest.getDefaultInstance());
            assertEquals(2.0, ns(snap, "ns").getFieldsOrThrow("ok").getNumberValue());
            assertEquals(Value.KindCase.NULL_VALUE, ns(snap, "ns").getFieldsOrThrow("Broken").getKindCase());
            assertEquals(1, snap.getErrorsCount());
            assertEquals("Broken", snap.getErrors(0).getKey());
            assertEquals("division by zero", snap.getErrors(0).getError());
        }
    }

    @Test
    void shouldStopCollectingButKeepReportingAndTellWatchersWhenSwitchedOff() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start(); Recorder rec = new Recorder(weftd)) {
            StatsServiceGrpc.StatsServiceBlockingStub stats = StatsServiceGrpc.newBlockingStub(weftd.channel());
            rec.send(add("Web", key("Hits"), 5));
            List<WatchEnabledResponse> seen = new CopyOnWriteArrayList<>();
            Context.CancellableContext watchCtx = Context.current().withCancellation();
            watchCtx.run(() -> StatsServiceGrpc.newStub(weftd.channel()).watchEnabled(
                    WatchEnabledRequest.newBuilder().addNamespaces("Web").build(), collect(seen)));
            Poll.until(() -> seen.size() == 1, () -> "the current switch, got " + seen);
            assertTrue(seen.get(0).getEnabled());

            assertTrue(stats.setEnabled(SetEnabledRequest.newBuilder().setNamespace("Web").setEnabled(false).build())
                    .getWasEnabled());
            Poll.until(() -> seen.size() == 2, () -> "the switch off, got " + seen);
            assertEquals("Web", seen.get(1).getNamespace());
            assertFalse(seen.get(1).getEnabled());

            rec.send(add("Web", key("Hits"), 5), add("Web", key("Misses"), 1));
            assertEquals(2, rec.last().getDisabled());
            Struct web = ns(stats.snapshot(SnapshotRequest.getDefaultInstance()), "Web");
            assertFalse(web.getFieldsOrThrow("Enabled").getBoolValue());
            assertEquals(5.0, web.getFieldsOrThrow("Hits").getNumberValue());
            assertFalse(web.containsFields("Misses"));

            stats.setEnabled(SetEnabledRequest.newBuilder().setNamespace("Web").setEnabled(true).build());
            Poll.until(() -> seen.size() == 3 && seen.get(2).getEnabled(), () -> "the switch on, got " + seen);
            rec.send(add("Web", key("Hits"), 5));
            assertEquals(10.0, ns(stats.snapshot(SnapshotRequest.getDefaultInstance()), "Web").getFieldsOrThrow("Hits")
                    .getNumberValue());
            watchCtx.cancel(null);
        }
    }

    @Test
    void shouldRefuseBadNamespaceNamesWithInvalidArgumentWhenAsked() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            StatsServiceGrpc.StatsServiceBlockingStub stats = StatsServiceGrpc.newBlockingStub(weftd.channel());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> stats.setEnabled(SetEnabledRequest.newBuilder().setNamespace("").build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertEquals("INVALID_ARGUMENT", Api.reason(e));
            assertEquals("namespace is empty", e.getStatus().getDescription());
            StatusRuntimeException s = assertThrows(StatusRuntimeException.class,
                    () -> stats.snapshot(SnapshotRequest.newBuilder().addNamespaces("a\u0001").build()));
            assertEquals("namespace contains a control character", s.getStatus().getDescription());
        }
    }

    @Test
    void shouldReportTheDaemonItselfInNamespaceWeftdWhenSnapshotted() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.start()) {
            io.weft.api.v1.PublishEventsRequest.Builder batch = io.weft.api.v1.PublishEventsRequest.newBuilder();
            for (int i = 0; i < 50; i++) {
                batch.addEvents(Api.event("obj-" + i, io.weft.api.v1.EventKind.EVENT_KIND_TRANSIENT, 1));
            }
            io.weft.api.v1.ContextServiceGrpc.newBlockingStub(weftd.channel()).publishEvents(batch.build());
            StatsServiceGrpc.StatsServiceBlockingStub stats = StatsServiceGrpc.newBlockingStub(weftd.channel());
            SnapshotRequest weftdOnly = SnapshotRequest.newBuilder().addNamespaces("weftd").build();
            Poll.until(() -> ns(stats.snapshot(weftdOnly), "weftd").getFieldsOrThrow("Events In").getNumberValue() >= 50,
                    () -> "weftd to count 50 events in");
            Struct w = ns(stats.snapshot(weftdOnly), "weftd");
            assertTrue(w.getFieldsOrThrow("Uptime").getNumberValue() > 0);
            assertEquals(weftd.output().contains("daemon_id=test-") ? Value.KindCase.STRING_VALUE : null,
                    w.getFieldsOrThrow("Daemon Id").getKindCase());
            assertEquals(Value.KindCase.NUMBER_VALUE, w.getFieldsOrThrow("Events In/s").getKindCase());
            // rate() measures between reports, over at least a second: events after the first report.
            io.weft.api.v1.PublishEventsRequest.Builder more = io.weft.api.v1.PublishEventsRequest.newBuilder();
            for (int i = 0; i < 50; i++) {
                more.addEvents(Api.event("more-" + i, io.weft.api.v1.EventKind.EVENT_KIND_TRANSIENT, 1));
            }
            io.weft.api.v1.ContextServiceGrpc.newBlockingStub(weftd.channel()).publishEvents(more.build());
            Poll.until(() -> ns(stats.snapshot(weftdOnly), "weftd").getFieldsOrThrow("Events In/s").getNumberValue() > 0,
                    () -> "a positive Events In/s");
            for (String k : List.of("Events Out", "Broker Cycle p50 ms", "Broker Cycle p99 ms", "Broker Cycle max ms",
                    "Stats Values")) {
                assertEquals(Value.KindCase.NUMBER_VALUE, w.getFieldsOrThrow(k).getKindCase(), k);
            }
            Struct inbound = w.getFieldsOrThrow("Queues").getStructValue().getFieldsOrThrow("inbound").getStructValue();
            assertEquals(65536.0, inbound.getFieldsOrThrow("Capacity").getNumberValue());
            assertEquals(0.0, inbound.getFieldsOrThrow("Drops full").getNumberValue());
            assertTrue(w.getFieldsOrThrow("Queues").getStructValue().containsFields("collator.live"));

            stats.setEnabled(SetEnabledRequest.newBuilder().setNamespace("weftd").setEnabled(false).build());
            double frozen = ns(stats.snapshot(weftdOnly), "weftd").getFieldsOrThrow("Uptime").getNumberValue();
            Poll.until(() -> ns(stats.snapshot(SnapshotRequest.getDefaultInstance()), "weftd").getFieldsOrThrow("Enabled")
                    .getBoolValue() == false, () -> "weftd off");
            assertEquals(frozen, ns(stats.snapshot(weftdOnly), "weftd").getFieldsOrThrow("Uptime").getNumberValue());
        }
    }

    @Test
    void shouldReportBusStateAndSpoolBytesInWeftdWhenABusIsConfigured() throws Exception {
        java.nio.file.Path spool = java.nio.file.Files.createTempDirectory("weft-spool-");
        try (io.weft.daemon.testing.Rabbit.Exchange ex = io.weft.daemon.testing.Rabbit.exchange();
                WeftdProcess weftd = WeftdProcess.builder().env("WEFT_BUS_URL", io.weft.daemon.testing.Rabbit.url())
                        .env("WEFT_BUS_EXCHANGE", ex.name()).env("WEFT_BUS_POLICY", "spool")
                        .env("WEFT_SPOOL_DIR", spool.toString()).start()) {
            io.weft.api.v1.PublishEventsRequest.Builder batch = io.weft.api.v1.PublishEventsRequest.newBuilder();
            for (int i = 0; i < 20; i++) {
                batch.addEvents(Api.event("bus-" + i, io.weft.api.v1.EventKind.EVENT_KIND_TRANSIENT, 1));
            }
            io.weft.api.v1.ContextServiceGrpc.newBlockingStub(weftd.channel()).publishEvents(batch.build());
            StatsServiceGrpc.StatsServiceBlockingStub stats = StatsServiceGrpc.newBlockingStub(weftd.channel());
            SnapshotRequest weftdOnly = SnapshotRequest.newBuilder().addNamespaces("weftd").build();
            // One snapshot at a time: the shared RabbitMQ may block connections for a while (other tests do).
            Poll.until(java.time.Duration.ofSeconds(30), () -> {
                Struct w = ns(stats.snapshot(weftdOnly), "weftd");
                Struct bus = w.getFieldsOrThrow("Queues").getStructValue().getFieldsOrThrow("bus").getStructValue();
                return w.getFieldsOrThrow("Bus State").getStringValue().equals("connected")
                        && bus.getFieldsOrThrow("State").getStringValue().equals("connected")
                        && w.getFieldsOrThrow("Spool Bytes").hasNumberValue()
                        && bus.getFieldsOrThrow("confirmed").getNumberValue() >= 20;
            }, () -> "Bus State connected, Spool Bytes, and 20 events confirmed in weftd / Queues / bus: "
                    + ns(stats.snapshot(weftdOnly), "weftd"));
        }
    }

    static <T> StreamObserver<T> collect(List<T> into) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
                into.add(value);
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        };
    }

    @Test
    void shouldPrintTheStatisticsAndSwitchNamespacesFromTheCommandLine() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().start(); Recorder r = new Recorder(weftd)) {
            r.send(add("Shop", key("Orders"), 3), derive("Shop", "", "Broken", "Orders / (Orders - 3)"));
            Cli.Run shop = Cli.weft(weftd, "stats", "Shop");
            assertEquals(0, shop.code(), shop.err());
            Struct.Builder parsed = Struct.newBuilder();
            com.google.protobuf.util.JsonFormat.parser().merge(shop.out(), parsed);
            Struct printed = parsed.build();
            assertEquals(List.of("Shop"), List.copyOf(printed.getFieldsMap().keySet()));
            Struct ns = printed.getFieldsOrThrow("Shop").getStructValue();
            assertEquals(3.0, ns.getFieldsOrThrow("Orders").getNumberValue());
            assertTrue(ns.getFieldsOrThrow("Enabled").getBoolValue());
            assertTrue(shop.err().contains("derived error: Shop/Broken: "), shop.err());

            Cli.Run off = Cli.weft(weftd, "stats", "--disable", "Shop");
            assertEquals(0, off.code(), off.err());
            assertEquals("Shop: disabled (was enabled)", off.out().strip());
            Cli.Run pretty = Cli.weft(weftd, "stats", "-p", "Shop");
            assertTrue(pretty.out().contains("\"Enabled\": false"), pretty.out());

            Cli.Run both = Cli.weft(weftd, "stats", "--enable", "Shop", "--disable", "Shop");
            assertEquals(2, both.code(), both.err());
            Cli.Run bad = Cli.weft(weftd, "stats", "--disable", "");
            assertEquals(1, bad.code());
            assertTrue(bad.err().contains("INVALID_ARGUMENT"), bad.err());
        }
    }
}
