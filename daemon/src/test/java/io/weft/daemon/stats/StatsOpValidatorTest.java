package io.weft.daemon.stats;

import static io.weft.daemon.stats.Ops.add;
import static io.weft.daemon.stats.Ops.append;
import static io.weft.daemon.stats.Ops.derive;
import static io.weft.daemon.stats.Ops.put;
import static io.weft.daemon.stats.Ops.recordKey;
import static io.weft.daemon.stats.Ops.set;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.StatsOp;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatsOpValidatorTest {

    private final StatsOpValidator validator = new StatsOpValidator(StatsLimits.DEFAULTS);

    private Rejection refused(StatsOp op) {
        Rejection r = validator.check(op).rejection();
        assertNotNull(r, () -> "accepted: " + op);
        return r;
    }

    @Test
    void shouldRefuseAFifthLevelWithAClearErrorWhenARecordHoldsAStructOrList() {
        Rejection r = refused(put("SQLAlchemy", "Table Statistics", "widgets",
                Map.of("Rows", Map.of("deeper", 1))));
        assertEquals(ErrorReason.ERROR_REASON_TOO_DEEP, r.reason());
        assertEquals("statistics have 4 levels (namespace, collection, record, value): 'SQLAlchemy' / 'Table Statistics'"
                + " / 'widgets' / 'Rows' would hold a struct, a 5th level", r.description());
        Rejection list = refused(append("ns", "L", Map.of("v", com.google.protobuf.Value.newBuilder()
                .setListValue(com.google.protobuf.ListValue.newBuilder()).build()), 0));
        assertEquals(ErrorReason.ERROR_REASON_TOO_DEEP, list.reason());
        assertEquals("statistics have 4 levels (namespace, collection, record, value): 'ns' / 'L' / '(appended)' / 'v'"
                + " would hold a list, a 5th level", list.description());
        Rejection inRecord = refused(set("ns", recordKey("C", "r", "v"), Map.of("x", 1)));
        assertEquals(ErrorReason.ERROR_REASON_TOO_DEEP, inRecord.reason());
        Rejection atTop = refused(set("ns", "v", Map.of("x", 1)));
        assertEquals("'ns' / 'v' would hold a struct; a namespace entry is a scalar or a collection: use put or append"
                + " for records", atTop.description());
    }

    @Test
    void shouldRefuseWithBadExpressionAndThePositionWhenADerivedValueDoesNotParse() {
        Rejection r = refused(derive("ns", "", "Rate", "[Events] / (now() - [Start Time]"));
        assertEquals(ErrorReason.ERROR_REASON_BAD_EXPRESSION, r.reason());
        assertEquals(12, r.position());
        assertEquals("derive 'Rate': '(' is not closed at position 12: [Events] / (now() - [Start Time]", r.description());
        Rejection agg = refused(derive("ns", "Tables", "Share", "Rows / sum(Tables, Rows)"));
        assertEquals(8, agg.position());
        assertNotNull(validator.check(derive("ns", "", "Share", "Rows / sum(Tables, Rows)")).expression());
    }

    @Test
    void shouldRefuseBadNamesAndValuesWhenChecking() {
        assertEquals("namespace is empty", refused(add("", "k", 1)).description());
        assertEquals("path.key is empty", refused(add("ns", "", 1)).description());
        assertEquals("namespace contains a control character", refused(add("n\ns", "k", 1)).description());
        assertEquals("namespace is longer than 200 bytes", refused(add("n".repeat(201), "k", 1)).description());
        assertEquals(ErrorReason.ERROR_REASON_NOT_JSON, refused(add("ns", "k", Double.NaN)).reason());
        assertEquals("path.record_key is empty", refused(add("ns", recordKey("C", "", "k"), 1)).description());
        assertEquals("op: none of add, set, put, append, remove, derive is set",
                refused(StatsOp.newBuilder().setNamespace("ns").build()).description());
        assertEquals(ErrorReason.ERROR_REASON_INVALID_ARGUMENT, refused(set("ns", "k", "x".repeat(1025))).reason());
        assertEquals("append: max_len 10001 is more than stats.max-records (10000)",
                refused(append("ns", "L", Map.of(), 10_001)).description());
        assertNull(validator.check(set("ns", "Requests/sec", 1.5)).rejection());
    }
}
