package io.weft.daemon.http;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.SnapshotResponse;
import io.weft.daemon.stats.DaemonNamespace;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A statistics report in the Prometheus text exposition format (version 0.0.4).
 *
 * <ul>
 *   <li>Client namespaces: every number (and boolean, as 0 or 1) of a namespace or of a record of a
 *       collection becomes a gauge named {@code weft_<key>} (lower case, every run of characters
 *       outside {@code [a-z0-9_]} replaced by {@code _}), labelled {@code namespace} and, inside a
 *       collection, {@code collection} and {@code record} (a list's index). Strings and nulls are
 *       left out. A series that would repeat a name and labels already written (two keys that
 *       sanitise alike) is left out too.
 *   <li>The daemon's namespace {@code weftd} becomes fixed families with HELP and TYPE: {@code
 *       weftd_uptime_seconds}, {@code weftd_events_in_total}, {@code weftd_queue_depth{queue}}...
 * </ul>
 */
public final class PrometheusText {

    private PrometheusText() {
    }

    /** One metric family: its help, type and samples (name+labels to value). */
    private static final class Family {
        final String help;
        final String type;
        final LinkedHashMap<String, Double> samples = new LinkedHashMap<>();

        Family(String help, String type) {
            this.help = help;
            this.type = type;
        }
    }

    /** Renders a report. */
    public static String render(SnapshotResponse report) {
        LinkedHashMap<String, Family> families = new LinkedHashMap<>();
        for (Map.Entry<String, Value> ns : report.getNamespaces().getFieldsMap().entrySet()) {
            Struct s = ns.getValue().getStructValue();
            if (ns.getKey().equals(DaemonNamespace.NAME)) {
                daemon(s, families);
            } else {
                client(ns.getKey(), s, families);
            }
        }
        StringBuilder out = new StringBuilder(4096);
        for (Map.Entry<String, Family> f : families.entrySet()) {
            out.append("# HELP ").append(f.getKey()).append(' ').append(f.getValue().help).append('\n');
            out.append("# TYPE ").append(f.getKey()).append(' ').append(f.getValue().type).append('\n');
            for (Map.Entry<String, Double> sample : f.getValue().samples.entrySet()) {
                out.append(sample.getKey()).append(' ').append(number(sample.getValue())).append('\n');
            }
        }
        return out.toString();
    }

    private static void client(String namespace, Struct s, Map<String, Family> families) {
        for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
            Value v = e.getValue();
            if (v.hasStructValue()) {
                for (Map.Entry<String, Value> rec : v.getStructValue().getFieldsMap().entrySet()) {
                    record(namespace, e.getKey(), rec.getKey(), rec.getValue().getStructValue(), families);
                }
            } else if (v.hasListValue()) {
                int i = 0;
                for (Value rec : v.getListValue().getValuesList()) {
                    record(namespace, e.getKey(), Integer.toString(i++), rec.getStructValue(), families);
                }
            } else {
                scalar(e.getKey(), v, labels("namespace", namespace), families);
            }
        }
    }

    private static void record(String ns, String collection, String record, Struct r, Map<String, Family> families) {
        String labels = labels("namespace", ns, "collection", collection, "record", record);
        for (Map.Entry<String, Value> f : r.getFieldsMap().entrySet()) {
            scalar(f.getKey(), f.getValue(), labels, families);
        }
    }

    private static void scalar(String key, Value v, String labels, Map<String, Family> families) {
        double d;
        if (v.hasNumberValue()) {
            d = v.getNumberValue();
        } else if (v.hasBoolValue()) {
            d = v.getBoolValue() ? 1 : 0;
        } else {
            return;
        }
        String name = "weft_" + sanitise(key);
        Family f = families.computeIfAbsent(name, n -> new Family("Weft statistic \"" + escapeHelp(key) + "\"", "gauge"));
        f.samples.putIfAbsent(name + labels, d);
    }

    private static void daemon(Struct s, Map<String, Family> families) {
        gauge(families, "weftd_uptime_seconds", "Seconds since weftd started.", s, "Uptime");
        gauge(families, "weftd_start_time_seconds", "When weftd started, in seconds since the Unix epoch.", s,
                "Start Time");
        counter(families, "weftd_events_in_total", "Events received from clients.", s, "Events In");
        counter(families, "weftd_events_out_total", "Events handed to sinks and watchers.", s, "Events Out");
        counter(families, "weftd_events_applied_total", "Events applied to collated objects.", s, "Events Applied");
        gauge(families, "weftd_events_in_per_second", "Events received per second between reports.", s,
                "Events In/s");
        gauge(families, "weftd_events_out_per_second", "Events handed on per second between reports.", s,
                "Events Out/s");
        gauge(families, "weftd_broker_cycle_p50_seconds", "Median busy broker duty cycle over the last interval.", s,
                "Broker Cycle p50 ms", 1e-3);
        gauge(families, "weftd_broker_cycle_p99_seconds", "99th percentile busy broker duty cycle over the last"
                + " interval.", s, "Broker Cycle p99 ms", 1e-3);
        gauge(families, "weftd_broker_cycle_max_seconds", "Longest broker duty cycle over the last interval.", s,
                "Broker Cycle max ms", 1e-3);
        gauge(families, "weftd_publish_streams", "Open Publish streams.", s, "Publish Streams");
        gauge(families, "weftd_stats_values", "Statistics values stored.", s, "Stats Values");
        Family ops = families.computeIfAbsent("weftd_stats_ops_total",
                n -> new Family("Statistics ops by outcome.", "counter"));
        for (String[] o : new String[][] {{"applied", "Stats Ops Applied"}, {"rejected", "Stats Ops Rejected"},
                {"disabled", "Stats Ops Disabled"}}) {
            Value v = s.getFieldsOrDefault(o[1], null);
            if (v != null && v.hasNumberValue()) {
                ops.samples.put("weftd_stats_ops_total" + labels("outcome", o[0]), v.getNumberValue());
            }
        }
        Value queues = s.getFieldsOrDefault(DaemonNamespace.QUEUES, null);
        if (queues != null && queues.hasStructValue()) {
            Family depth = families.computeIfAbsent("weftd_queue_depth", n -> new Family("Items in a bounded queue.",
                    "gauge"));
            Family capacity = families.computeIfAbsent("weftd_queue_capacity",
                    n -> new Family("Capacity of a bounded queue.", "gauge"));
            Family drops = families.computeIfAbsent("weftd_queue_drops_total",
                    n -> new Family("Items a bounded queue lost or refused, by cause.", "counter"));
            for (Map.Entry<String, Value> q : queues.getStructValue().getFieldsMap().entrySet()) {
                Struct r = q.getValue().getStructValue();
                String l = labels("queue", q.getKey());
                putNumber(depth, "weftd_queue_depth" + l, r.getFieldsOrDefault("Depth", null));
                putNumber(capacity, "weftd_queue_capacity" + l, r.getFieldsOrDefault("Capacity", null));
                for (Map.Entry<String, Value> f : r.getFieldsMap().entrySet()) {
                    if (f.getKey().startsWith("Drops ")) {
                        putNumber(drops, "weftd_queue_drops_total" + labels("queue", q.getKey(), "cause",
                                f.getKey().substring("Drops ".length())), f.getValue());
                    }
                }
            }
        }
        gauge(families, "weftd_spool_bytes", "Bytes in the bus spool.", s, "Spool Bytes");
        Value busState = s.getFieldsOrDefault("Bus State", null);
        if (busState != null && busState.hasStringValue()) {
            Family f = families.computeIfAbsent("weftd_bus_connected",
                    n -> new Family("1 while the bus publisher is connected to RabbitMQ (and not blocked).", "gauge"));
            f.samples.put("weftd_bus_connected", busState.getStringValue().equals("connected") ? 1.0 : 0.0);
        }
        Value errors = s.getFieldsOrDefault(DaemonNamespace.ERRORS, null);
        if (errors != null && errors.hasStructValue()) {
            Family f = families.computeIfAbsent("weftd_errors_total",
                    n -> new Family("Errors returned or counted, by reason.", "counter"));
            for (Map.Entry<String, Value> e : errors.getStructValue().getFieldsMap().entrySet()) {
                putNumber(f, "weftd_errors_total" + labels("reason", e.getKey()),
                        e.getValue().getStructValue().getFieldsOrDefault("Count", null));
            }
        }
    }

    private static void gauge(Map<String, Family> families, String name, String help, Struct s, String key) {
        gauge(families, name, help, s, key, 1);
    }

    private static void gauge(Map<String, Family> families, String name, String help, Struct s, String key,
            double scale) {
        Value v = s.getFieldsOrDefault(key, null);
        if (v != null && v.hasNumberValue()) {
            families.computeIfAbsent(name, n -> new Family(help, "gauge")).samples.put(name, v.getNumberValue() * scale);
        }
    }

    private static void counter(Map<String, Family> families, String name, String help, Struct s, String key) {
        Value v = s.getFieldsOrDefault(key, null);
        if (v != null && v.hasNumberValue()) {
            families.computeIfAbsent(name, n -> new Family(help, "counter")).samples.put(name, v.getNumberValue());
        }
    }

    private static void putNumber(Family f, String series, Value v) {
        if (v != null && v.hasNumberValue()) {
            f.samples.put(series, v.getNumberValue());
        }
    }

    /** A metric name part: lower case, runs outside [a-z0-9_] as one '_', no leading digit. */
    static String sanitise(String key) {
        StringBuilder b = new StringBuilder(key.length());
        boolean underscore = false;
        for (int i = 0; i < key.length(); i++) {
            char c = Character.toLowerCase(key.charAt(i));
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
                b.append(c);
                underscore = c == '_';
            } else if (!underscore) {
                b.append('_');
                underscore = true;
            }
        }
        String s = b.toString();
        while (s.endsWith("_") && s.length() > 1) {
            s = s.substring(0, s.length() - 1);
        }
        if (s.startsWith("_") && s.length() > 1) {
            s = s.substring(1);
        }
        return s.isEmpty() || s.equals("_") ? "unnamed" : s;
    }

    private static String labels(String... kv) {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) {
                b.append(',');
            }
            b.append(kv[i]).append("=\"").append(escapeLabel(kv[i + 1])).append('"');
        }
        return b.append('}').toString();
    }

    private static String escapeLabel(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    private static String escapeHelp(String v) {
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace("\"", "'");
    }

    private static String number(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            return Long.toString((long) d);
        }
        return Double.toString(d);
    }
}
