package io.weft.daemon.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.SnapshotResponse;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {

    private static Value num(double d) {
        return Value.newBuilder().setNumberValue(d).build();
    }

    @Test
    void shouldSanitiseNamesWhenKeysAreFreeText() {
        assertEquals("requests_sec", PrometheusText.sanitise("Requests/sec"));
        assertEquals("start_time", PrometheusText.sanitise("  Start Time "));
        assertEquals("p99_latency_ms", PrometheusText.sanitise("p99 latency (ms)"));
        assertEquals("x_2xx", PrometheusText.sanitise("x 2xx"));
        assertEquals("unnamed", PrometheusText.sanitise("%%%"));
        assertEquals("2xx", PrometheusText.sanitise("2xx"));
    }

    @Test
    void shouldWriteOneFamilyPerNameAndSkipRepeatsWhenKeysSanitiseAlike() {
        Struct ns = Struct.newBuilder()
                .putFields("Enabled", Value.newBuilder().setBoolValue(true).build())
                .putFields("Requests/sec", num(2))
                .putFields("Requests sec", num(3))
                .putFields("Host", Value.newBuilder().setStringValue("web \"1\"").build())
                .putFields("Tables", Value.newBuilder().setStructValue(Struct.newBuilder()
                        .putFields("a\"b", Value.newBuilder().setStructValue(Struct.newBuilder()
                                .putFields("Rows", num(1.5))).build())).build())
                .putFields("Slow", Value.newBuilder().setListValue(ListValue.newBuilder()
                        .addValues(Value.newBuilder().setStructValue(Struct.newBuilder().putFields("Rows", num(7))))).build())
                .build();
        String text = PrometheusText.render(SnapshotResponse.newBuilder().setNamespaces(Struct.newBuilder()
                .putFields("My \\ Stuff", Value.newBuilder().setStructValue(ns).build())).build());
        assertEquals("""
                # HELP weft_enabled Weft statistic "Enabled"
                # TYPE weft_enabled gauge
                weft_enabled{namespace="My \\\\ Stuff"} 1
                # HELP weft_requests_sec Weft statistic "Requests/sec"
                # TYPE weft_requests_sec gauge
                weft_requests_sec{namespace="My \\\\ Stuff"} 2
                # HELP weft_rows Weft statistic "Rows"
                # TYPE weft_rows gauge
                weft_rows{namespace="My \\\\ Stuff",collection="Tables",record="a\\"b"} 1.5
                weft_rows{namespace="My \\\\ Stuff",collection="Slow",record="0"} 7
                """, text);
        assertTrue(!text.contains("web"), "strings are left out");
    }
}
