package io.weft.daemon.stats;

import static io.weft.daemon.stats.Ops.add;
import static io.weft.daemon.stats.Ops.append;
import static io.weft.daemon.stats.Ops.derive;
import static io.weft.daemon.stats.Ops.key;
import static io.weft.daemon.stats.Ops.put;
import static io.weft.daemon.stats.Ops.recordKey;
import static io.weft.daemon.stats.Ops.remove;
import static io.weft.daemon.stats.Ops.set;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.DerivedError;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.SnapshotResponse;
import io.weft.api.v1.StatsOp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StatsRegistryTest {

    private static final long SECOND = 1_000_000_000L;

    private final StatsRegistry reg = new StatsRegistry(StatsLimits.DEFAULTS);
    private final StatsOpValidator validator = new StatsOpValidator(StatsLimits.DEFAULTS);
    private long nowNs = 100 * SECOND;

    private Rejection apply(StatsOp op) {
        StatsOpValidator.Checked c = validator.check(op);
        if (c.rejection() != null) {
            return c.rejection();
        }
        return reg.apply(op, c.expression(), nowNs);
    }

    private void ok(StatsOp op) {
        Rejection r = apply(op);
        assertNull(r, () -> "refused: " + r);
    }

    private SnapshotResponse snapshot() {
        return reg.snapshot(Set.of(), nowNs, 1_700_000_000L * SECOND, 60);
    }

    private static Struct ns(SnapshotResponse s, String name) {
        return s.getNamespaces().getFieldsOrThrow(name).getStructValue();
    }

    private static double num(Struct s, String key) {
        return s.getFieldsOrThrow(key).getNumberValue();
    }

    @Test
    void shouldBuildTheFourLevelReportWhenOpsAreApplied() {
        ok(add("SQLAlchemy", "Inserts", 3));
        ok(add("SQLAlchemy", "Inserts", 4));
        ok(set("SQLAlchemy", "Start Time", 1000));
        ok(set("SQLAlchemy", "Driver", "psycopg"));
        ok(set("SQLAlchemy", "Pooled", true));
        ok(set("SQLAlchemy", "Last Error", null));
        ok(put("SQLAlchemy", "Table Statistics", "widgets", Map.of("Rows", 1_300_000, "Inserts", 400)));
        ok(add("SQLAlchemy", recordKey("Table Statistics", "froobles", "Rows"), 7845));
        ok(set("SQLAlchemy", recordKey("Table Statistics", "froobles", "Inserts"), 0));
        ok(append("SQLAlchemy", "Slow Queries", Map.of("Query", "SELECT * FROM widgets;", "Processing Time", 47.8), 10));

        Struct sa = ns(snapshot(), "SQLAlchemy");
        assertTrue(sa.getFieldsOrThrow("Enabled").getBoolValue());
        assertEquals(7.0, num(sa, "Inserts"));
        assertEquals(1000.0, num(sa, "Start Time"));
        assertEquals("psycopg", sa.getFieldsOrThrow("Driver").getStringValue());
        assertTrue(sa.getFieldsOrThrow("Pooled").getBoolValue());
        assertEquals(Value.KindCase.NULL_VALUE, sa.getFieldsOrThrow("Last Error").getKindCase());
        Struct tables = sa.getFieldsOrThrow("Table Statistics").getStructValue();
        assertEquals(1_300_000.0, num(tables.getFieldsOrThrow("widgets").getStructValue(), "Rows"));
        assertEquals(7845.0, num(tables.getFieldsOrThrow("froobles").getStructValue(), "Rows"));
        assertEquals(0.0, num(tables.getFieldsOrThrow("froobles").getStructValue(), "Inserts"));
        List<Value> slow = sa.getFieldsOrThrow("Slow Queries").getListValue().getValuesList();
        assertEquals(1, slow.size());
        assertEquals("SELECT * FROM widgets;", slow.get(0).getStructValue().getFieldsOrThrow("Query").getStringValue());
        assertEquals(List.of("Enabled", "Inserts", "Start Time", "Driver", "Pooled", "Last Error", "Table Statistics",
                "Slow Queries"), new ArrayList<>(sa.getFieldsMap().keySet()));
    }

    @Test
    void shouldEvaluateDerivedValuesAgainstTheirScopeWhenReporting() {
        ok(set("My Stuff", "Start Time", 1_700_000_000 - 10));
        ok(add("My Stuff", "Important Events", 50));
        ok(derive("My Stuff", "", "Events/Second", "[Important Events] / (now() - [Start Time])"));
        ok(derive("My Stuff", "", "Uptime", "uptime()"));
        ok(put("My Stuff", "Tables", "a", Map.of("Rows", 10, "Bytes", 100)));
        ok(put("My Stuff", "Tables", "b", Map.of("Rows", 30, "Bytes", 600)));
        ok(derive("My Stuff", "", "Total Rows", "sum(Tables, Rows)"));
        ok(derive("My Stuff", "", "Mean Rows", "avg(Tables, Rows)"));
        ok(derive("My Stuff", "", "Most Rows", "max(Tables, Rows)"));
        ok(derive("My Stuff", "", "Least Rows", "min(Tables, Rows)"));
        ok(derive("My Stuff", "", "Tables Count", "count(Tables)"));
        ok(derive("My Stuff", "Tables", "Bytes/Row", "Bytes / Rows"));

        SnapshotResponse snap = snapshot();
        Struct my = ns(snap, "My Stuff");
        assertEquals(5.0, num(my, "Events/Second"));
        assertEquals(60.0, num(my, "Uptime"));
        assertEquals(40.0, num(my, "Total Rows"));
        assertEquals(20.0, num(my, "Mean Rows"));
        assertEquals(30.0, num(my, "Most Rows"));
        assertEquals(10.0, num(my, "Least Rows"));
        assertEquals(2.0, num(my, "Tables Count"));
        Struct tables = my.getFieldsOrThrow("Tables").getStructValue();
        assertEquals(10.0, num(tables.getFieldsOrThrow("a").getStructValue(), "Bytes/Row"));
        assertEquals(20.0, num(tables.getFieldsOrThrow("b").getStructValue(), "Bytes/Row"));
        assertEquals(0, snap.getErrorsCount(), () -> snap.getErrorsList().toString());
    }

    @Test
    void shouldLeaveStoredValuesUnchangedWhenASnapshotIsTaken() {
        ok(add("ns", "Count", 5));
        ok(put("ns", "Things", "x", Map.of("N", 2)));
        ok(derive("ns", "", "Double", "Count * 2"));
        ok(derive("ns", "Things", "Half", "N / 2"));
        SnapshotResponse first = snapshot();
        SnapshotResponse second = snapshot();
        assertEquals(first.getNamespaces(), second.getNamespaces());
        assertEquals(5.0, num(ns(first, "ns"), "Count"));
        // The derived value is still an expression: it follows the stored value.
        ok(add("ns", "Count", 1));
        assertEquals(12.0, num(ns(snapshot(), "ns"), "Double"));
        assertEquals(6.0, num(ns(snapshot(), "ns"), "Count"));
        Struct x = ns(snapshot(), "ns").getFieldsOrThrow("Things").getStructValue().getFieldsOrThrow("x").getStructValue();
        assertEquals(Map.of("N", 2.0, "Half", 1.0), Map.of("N", num(x, "N"), "Half", num(x, "Half")));
        // Adding to the record afterwards sees no stored "Half": the report's copy was not written back.
        ok(add("ns", recordKey("Things", "x", "N"), 2));
        assertEquals(2.0, num(ns(snapshot(), "ns").getFieldsOrThrow("Things").getStructValue().getFieldsOrThrow("x")
                .getStructValue(), "Half"));
        assertEquals(5, reg.values());
    }

    @Test
    void shouldReportNullAndAnErrorForThatEntryOnlyWhenADerivedValueFails() {
        ok(set("ns", "Zero", 0));
        ok(set("ns", "Name", "web-1"));
        ok(add("ns", "Good", 4));
        ok(derive("ns", "", "Ratio", "Good / Zero"));
        ok(derive("ns", "", "Ghost", "[No Such Thing] + 1"));
        ok(derive("ns", "", "Text", "Name * 2"));
        ok(derive("ns", "", "Chained", "Ratio + 1"));
        ok(derive("ns", "", "Fine", "Good + 1"));
        SnapshotResponse snap = snapshot();
        Struct s = ns(snap, "ns");
        assertEquals(5.0, num(s, "Fine"));
        for (String k : List.of("Ratio", "Ghost", "Text", "Chained")) {
            assertEquals(Value.KindCase.NULL_VALUE, s.getFieldsOrThrow(k).getKindCase(), k);
        }
        Map<String, String> errors = new java.util.HashMap<>();
        for (DerivedError e : snap.getErrorsList()) {
            errors.put(e.getKey(), e.getError());
        }
        assertEquals("division by zero", errors.get("Ratio"));
        assertEquals("namespace 'ns' has no entry 'No Such Thing'", errors.get("Ghost"));
        assertEquals("'Name' holds the string 'web-1', not a number", errors.get("Text"));
        assertEquals("'Ratio' is a derived value; expressions see stored scalars only", errors.get("Chained"));
        assertEquals(4, errors.size());
        assertEquals("Good / Zero", snap.getErrorsList().get(0).getExpression());
    }

    @Test
    void shouldComputeTheRateBetweenReportsWhenRateIsUsed() {
        ok(add("ns", "Requests", 0));
        ok(derive("ns", "", "Requests/sec", "rate(Requests)"));
        nowNs += 10 * SECOND;
        ok(add("ns", "Requests", 100));
        assertEquals(10.0, num(ns(snapshot(), "ns"), "Requests/sec"), "first report: since the counter was created");
        ok(add("ns", "Requests", 60));
        nowNs += SECOND / 2;
        assertEquals(10.0, num(ns(snapshot(), "ns"), "Requests/sec"), "within the window: the last rate again");
        nowNs += SECOND / 2;
        assertEquals(60.0, num(ns(snapshot(), "ns"), "Requests/sec"));
        nowNs += 2 * SECOND;
        assertEquals(0.0, num(ns(snapshot(), "ns"), "Requests/sec"));
        ok(add("ns", "Fresh", 500));
        ok(derive("ns", "", "Fresh/sec", "rate(Fresh)"));
        assertEquals(0.0, num(ns(snapshot(), "ns"), "Fresh/sec"), "created just now: no rate yet");
        nowNs += 2 * SECOND;
        ok(add("ns", "Fresh", 100));
        assertEquals(50.0, num(ns(snapshot(), "ns"), "Fresh/sec"));
    }

    @Test
    void shouldSkipOpsButStillReportWhenANamespaceIsOff() {
        List<String> changes = new ArrayList<>();
        reg.onEnabledChange((ns, on) -> changes.add(ns + "=" + on));
        ok(add("ns", "N", 1));
        assertEquals(Boolean.TRUE, reg.setEnabled("ns", false));
        assertSame(Rejection.DISABLED, apply(add("ns", "N", 1)));
        assertSame(Rejection.DISABLED, apply(put("ns", "C", "r", Map.of("a", 1))));
        Struct s = ns(snapshot(), "ns");
        assertFalse(s.getFieldsOrThrow("Enabled").getBoolValue());
        assertEquals(1.0, num(s, "N"));
        assertFalse(reg.isEnabled("ns"));
        assertEquals(Boolean.FALSE, reg.setEnabled("ns", true));
        ok(add("ns", "N", 1));
        assertEquals(2.0, num(ns(snapshot(), "ns"), "N"));
        assertEquals(Boolean.TRUE, reg.setEnabled("fresh", false));
        assertEquals(List.of("ns=true", "ns=false", "ns=true", "fresh=true", "fresh=false"), changes);
        assertEquals(Map.of("ns", true, "fresh", false), reg.switches());
    }

    @Test
    void shouldRefuseOpsWhenTheyDoNotFitWhatIsStored() {
        ok(set("ns", "Name", "x"));
        ok(put("ns", "Map", "r", Map.of("a", 1)));
        ok(append("ns", "List", Map.of("a", 1), 5));
        ok(derive("ns", "", "D", "1"));
        Map<StatsOp, String> bad = new java.util.LinkedHashMap<>();
        bad.put(add("ns", "Name", 1), "'ns' / 'Name' holds the string 'x', not a number; add needs a number");
        bad.put(add("ns", "Map", 1), "'ns' / 'Map' is a collection; add needs a number");
        bad.put(set("ns", "D", 1), "'ns' / 'D' is a derived value; set needs a scalar");
        bad.put(append("ns", "Map", Map.of("a", 1), 0), "'ns' / 'Map' is a map collection (put records by key)");
        bad.put(put("ns", "List", "k", Map.of("a", 1)), "'ns' / 'List' is a list collection (append records)");
        bad.put(put("ns", "Name", "k", Map.of("a", 1)), "'ns' / 'Name' is a scalar, not a collection");
        bad.put(derive("ns", "", "Name", "1"), "'ns' / 'Name' is a scalar; remove it before deriving it");
        bad.put(set("ns", "Enabled", false), "'ns' / 'Enabled' is the namespace's switch; use SetEnabled");
        bad.put(remove("ns", recordKey("List", "0", "")), "'ns' / 'List' / '0' / '' 'List' is a list; its records have no keys");
        for (Map.Entry<StatsOp, String> b : bad.entrySet()) {
            Rejection r = apply(b.getKey());
            assertEquals(ErrorReason.ERROR_REASON_STATS_CONFLICT, r.reason(), b.getValue());
            assertEquals(b.getValue(), r.description());
        }
    }

    @Test
    void shouldDropTheOldestWhenAListPassesItsLength() {
        for (int i = 0; i < 5; i++) {
            ok(append("ns", "Last", Map.of("i", i), 3));
        }
        List<Value> last = ns(snapshot(), "ns").getFieldsOrThrow("Last").getListValue().getValuesList();
        assertEquals(List.of(2.0, 3.0, 4.0), last.stream().map(v -> num(v.getStructValue(), "i")).toList());
        assertEquals(1 + 3, reg.values());
        ok(append("ns", "Last", Map.of("i", 5), 1));
        assertEquals(1, ns(snapshot(), "ns").getFieldsOrThrow("Last").getListValue().getValuesCount());
        assertEquals(1 + 1, reg.values());
    }

    @Test
    void shouldRemoveEntriesRecordsValuesAndDerivedTemplatesWhenAsked() {
        ok(add("ns", "A", 1));
        ok(put("ns", "C", "r1", Map.of("x", 1, "y", 2)));
        ok(put("ns", "C", "r2", Map.of("x", 3)));
        ok(derive("ns", "C", "z", "x + 1"));
        assertEquals(6, reg.values());
        ok(remove("ns", recordKey("C", "r1", "y")));
        ok(remove("ns", recordKey("C", "r2", "")));
        ok(remove("ns", Ops.recordKey("C", "", "z")));
        Struct c = ns(snapshot(), "ns").getFieldsOrThrow("C").getStructValue();
        assertEquals(Set.of("r1"), c.getFieldsMap().keySet());
        assertEquals(Set.of("x"), c.getFieldsOrThrow("r1").getStructValue().getFieldsMap().keySet());
        ok(remove("ns", key("C")));
        ok(remove("ns", key("A")));
        ok(remove("ns", key("never there")));
        assertEquals(Set.of("Enabled"), ns(snapshot(), "ns").getFieldsMap().keySet());
        assertEquals(0, reg.values());
    }

    @Test
    void shouldRefuseWithStatsFullWhenABoundIsReached() {
        StatsRegistry small = new StatsRegistry(new StatsLimits(2, 2, 2, 10, 6, 100));
        assertNull(small.apply(add("a", "x", 1), null, 0));
        assertNull(small.apply(add("b", "x", 1), null, 0));
        Rejection ns = small.apply(add("c", "x", 1), null, 0);
        assertEquals(ErrorReason.ERROR_REASON_STATS_FULL, ns.reason());
        assertEquals("namespace 'c': stats.max-namespaces (2) namespaces exist already", ns.description());
        assertNull(small.apply(add("a", "y", 1), null, 0));
        assertEquals("'a': stats.max-entries (2) entries exist already", small.apply(add("a", "z", 1), null, 0).description());
        assertNull(small.apply(put("b", "C", "r1", Map.of("v", 1)), null, 0));
        assertNull(small.apply(put("b", "C", "r2", Map.of("v", 1)), null, 0));
        assertEquals("'b' / 'C': stats.max-records (2) records exist already",
                small.apply(put("b", "C", "r3", Map.of("v", 1)), null, 0).description());
        assertEquals(6, small.values());
        assertEquals("stats.max-values (6) values are stored already",
                small.apply(put("b", "C", "r2", Map.of("v", 1, "w", 2)), null, 0).description());
        assertEquals(4, small.rejectedFull());
        assertEquals(1.0, small.snapshot(Set.of("b"), 0, 0, 0).getNamespaces().getFieldsOrThrow("b").getStructValue()
                .getFieldsOrThrow("C").getStructValue().getFieldsOrThrow("r2").getStructValue().getFieldsCount());
    }

    @Test
    void shouldReportOnlyTheNamedNamespacesWhenFiltered() {
        ok(add("a", "x", 1));
        ok(add("b", "x", 1));
        assertEquals(Set.of("b"), reg.snapshot(Set.of("b", "zzz"), nowNs, 0, 0).getNamespaces().getFieldsMap().keySet());
    }
}
