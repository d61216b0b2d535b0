package io.weft.daemon.stats;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.DeriveOp;
import io.weft.api.v1.InfoResponse;
import io.weft.api.v1.PutOp;
import io.weft.api.v1.QueueInfo;
import io.weft.api.v1.QueuesResponse;
import io.weft.api.v1.RemoveOp;
import io.weft.api.v1.SetOp;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsPath;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The daemon's own namespace, {@value #NAME} (DESIGN §7): refreshed from AdminService's Info and
 * Queues right before each report, so it costs nothing between reports. Switching it off freezes it
 * like any namespace. With a bus, {@code Bus State} and {@code Spool Bytes} come from the {@code bus}
 * queue.
 */
public final class DaemonNamespace {

    /** The namespace's name. */
    public static final String NAME = "weftd";
    /** The collection of every bounded queue. */
    public static final String QUEUES = "Queues";
    /** The bus publisher's queue, whose state and spool are also reported on their own. */
    static final String BUS_QUEUE = "bus";
    /** The collection of errors by reason. */
    public static final String ERRORS = "Errors";

    private final Supplier<InfoResponse> info;
    private final Supplier<QueuesResponse> queues;
    private final Expression eventsInRate;
    private final Expression eventsOutRate;
    private boolean derived;

    /**
     * @param info what AdminService.Info answers now (any thread)
     * @param queues what AdminService.Queues answers now (any thread)
     */
    public DaemonNamespace(Supplier<InfoResponse> info, Supplier<QueuesResponse> queues) {
        this.info = info;
        this.queues = queues;
        try {
            this.eventsInRate = Expression.parse("rate(Events In)", false);
            this.eventsOutRate = Expression.parse("rate(Events Out)", false);
        } catch (ExpressionException e) {
            throw new IllegalStateException("a built-in expression does not parse", e);
        }
        // Load what a refresh uses on this thread, not on the broker's first refresh.
        info.get();
        queues.get();
    }

    /** Writes the current figures into the registry. Broker thread. */
    void refresh(StatsRegistry reg, StatsEngine engine, long nowNs) {
        if (!reg.isEnabled(NAME)) {
            return;
        }
        InfoResponse in = info.get();
        Map<String, Long> c = in.getCountersMap();
        set(reg, "Daemon Id", Value.newBuilder().setStringValue(in.getDaemonId()).build(), nowNs);
        set(reg, "Version", Value.newBuilder().setStringValue(in.getVersion()).build(), nowNs);
        set(reg, "Start Time", num(in.getStartUnixNanos() / 1e9), nowNs);
        set(reg, "Uptime", num(in.getUptime().getSeconds() + in.getUptime().getNanos() / 1e9), nowNs);
        set(reg, "Events In", num(c.getOrDefault("events_in", 0L)), nowNs);
        set(reg, "Events Out", num(c.getOrDefault("events_out", 0L)), nowNs);
        if (!derived) {
            derived = true;
            derive(reg, "Events In/s", eventsInRate, nowNs);
            derive(reg, "Events Out/s", eventsOutRate, nowNs);
        }
        set(reg, "Events Applied", num(c.getOrDefault("events_applied", 0L)), nowNs);
        set(reg, "Broker Cycle p50 ms", num(c.getOrDefault("broker_cycle_p50_ns", 0L) / 1e6), nowNs);
        set(reg, "Broker Cycle p99 ms", num(c.getOrDefault("broker_cycle_p99_ns", 0L) / 1e6), nowNs);
        set(reg, "Broker Cycle max ms", num(c.getOrDefault("broker_cycle_max_ns", 0L) / 1e6), nowNs);
        set(reg, "Publish Streams", num(c.getOrDefault("publish_streams_open", 0L)), nowNs);
        set(reg, "Stats Ops Applied", num(engine.opsApplied()), nowNs);
        set(reg, "Stats Ops Rejected", num(engine.opsRejected()), nowNs);
        set(reg, "Stats Ops Disabled", num(engine.opsDisabled()), nowNs);
        set(reg, "Stats Values", num(reg.values()), nowNs);
        set(reg, "Sketched Events", num(engine.sketches().events()), nowNs);
        set(reg, "Sketched Keys", num(engine.sketches().keyCount()), nowNs);
        RecentEvents recent = engine.recent();
        if (recent != null) {
            set(reg, "Recent Keys", num(recent.keyCount()), nowNs);
            set(reg, "Recent Evictions", num(recent.evictions()), nowNs);
            set(reg, "Recent Summarised", num(recent.summarised()), nowNs);
        }

        apply(reg, StatsOp.newBuilder().setNamespace(NAME)
                .setRemove(RemoveOp.newBuilder().setPath(StatsPath.newBuilder().setKey(QUEUES))).build(), nowNs);
        for (QueueInfo q : queues.get().getQueuesList()) {
            Struct.Builder r = Struct.newBuilder()
                    .putFields("Depth", num(q.getDepth()))
                    .putFields("Capacity", num(q.getCapacity()))
                    .putFields("Policy", Value.newBuilder().setStringValue(q.getPolicy()).build());
            if (!q.getState().isEmpty()) {
                r.putFields("State", Value.newBuilder().setStringValue(q.getState()).build());
            }
            q.getDropsMap().forEach((cause, n) -> r.putFields("Drops " + cause, num(n)));
            q.getCountersMap().forEach((name, n) -> r.putFields(name, num(n)));
            put(reg, QUEUES, q.getName(), r.build(), nowNs);
            if (q.getName().equals(BUS_QUEUE)) {
                set(reg, "Bus State", Value.newBuilder().setStringValue(q.getState()).build(), nowNs);
                set(reg, "Spool Bytes", num(q.getCountersOrDefault("spool_bytes", 0L)), nowNs);
            }
        }
        for (Map.Entry<String, Long> e : c.entrySet()) {
            if (e.getKey().startsWith("errors_")) {
                put(reg, ERRORS, e.getKey().substring("errors_".length()),
                        Struct.newBuilder().putFields("Count", num(e.getValue())).build(), nowNs);
            }
        }
    }

    private static Value num(double v) {
        return Value.newBuilder().setNumberValue(v).build();
    }

    private static void set(StatsRegistry reg, String key, Value v, long nowNs) {
        apply(reg, StatsOp.newBuilder().setNamespace(NAME)
                .setSet(SetOp.newBuilder().setPath(StatsPath.newBuilder().setKey(key)).setValue(v)).build(), nowNs);
    }

    private static void put(StatsRegistry reg, String collection, String key, Struct record, long nowNs) {
        apply(reg, StatsOp.newBuilder().setNamespace(NAME)
                .setPut(PutOp.newBuilder().setCollection(collection).setRecordKey(key).setRecord(record)).build(), nowNs);
    }

    private static void derive(StatsRegistry reg, String key, Expression expression, long nowNs) {
        reg.apply(StatsOp.newBuilder().setNamespace(NAME).setDerive(DeriveOp.newBuilder().setKey(key)
                .setExpression(expression.text())).build(), expression, nowNs);
    }

    /** A client may have written into weftd: its ops win or conflict; the refresh skips what does not fit. */
    private static void apply(StatsRegistry reg, StatsOp op, long nowNs) {
        reg.apply(op, null, nowNs);
    }
}
