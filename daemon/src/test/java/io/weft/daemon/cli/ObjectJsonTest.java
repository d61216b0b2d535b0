package io.weft.daemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ObjectState;
import org.junit.jupiter.api.Test;

class ObjectJsonTest {

    private static final Struct FIELDS = Struct.newBuilder()
            .putFields("url", str("http://foo.com/?q=\"x\""))
            .putFields("status_code", num(200))
            .putFields("ratio", num(0.25))
            .putFields("ok", Value.newBuilder().setBoolValue(true).build())
            .putFields("none", Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build())
            .putFields("tags", Value.newBuilder().setListValue(ListValue.newBuilder()
                    .addValues(str("a")).addValues(num(-3))).build())
            .putFields("nested", Value.newBuilder().setStructValue(Struct.newBuilder()
                    .putFields("big", num(1e20))).build())
            .build();

    private static final ContextObject FINISHED = ContextObject.newBuilder()
            .setId("c529c182")
            .setRoutingKey("web.request")
            .setDaemonId("h1")
            .putHeaders("env", "prod")
            .setState(ObjectState.OBJECT_STATE_FINISHED)
            .setStartUnixNanos(1_763_784_000_123_456_789L)
            .setUpdatedUnixNanos(1_763_784_001_500_000_000L)
            .setEndUnixNanos(1_763_784_001_500_000_000L)
            .setElapsedSeconds(1.376543211)
            .setLastSeq(7)
            .setEventCount(7)
            .setFields(Struct.newBuilder().putFields("x", num(5)).putFields("y", num(2)))
            .build();

    @Test
    void shouldPrintFieldsAsOneLineWhenNotVerbose() {
        assertEquals("{\"url\":\"http://foo.com/?q=\\\"x\\\"\",\"status_code\":200,\"ratio\":0.25,\"ok\":true,"
                + "\"none\":null,\"tags\":[\"a\",-3],\"nested\":{\"big\":100000000000000000000}}", ObjectJson.render(FIELDS, false));
    }

    @Test
    void shouldIndentWhenPretty() {
        Struct s = Struct.newBuilder().putFields("a", num(1))
                .putFields("b", Value.newBuilder().setListValue(ListValue.newBuilder().addValues(num(2))).build())
                .build();
        assertEquals("{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}", ObjectJson.render(s, true));
    }

    @Test
    void shouldPrintOnlyTheFieldsWhenRenderingAnObjectWithoutVerbose() {
        assertEquals("{\"x\":5,\"y\":2}", ObjectJson.render(FINISHED, false, false));
    }

    @Test
    void shouldPrintTheEnvelopeWithExactTimesWhenVerbose() {
        assertEquals("{\"id\":\"c529c182\",\"rkey\":\"web.request\",\"daemon\":\"h1\",\"headers\":{\"env\":\"prod\"},"
                + "\"state\":\"finished\",\"partial\":false,\"start\":1763784000.123456789,\"updated\":1763784001.5,"
                + "\"end\":1763784001.5,\"elapsed\":1.376543211,\"seq\":7,\"events\":7,\"message\":null,"
                + "\"obj\":{\"x\":5,\"y\":2}}", ObjectJson.render(FINISHED, true, false));
    }

    @Test
    void shouldPrintNullEndAndTheMessageWhenLive() {
        ContextObject live = FINISHED.toBuilder().setState(ObjectState.OBJECT_STATE_LIVE).setEndUnixNanos(0)
                .setLastMessage("my foo is 1").setPartial(true).build();
        String json = ObjectJson.render(live, true, false);
        assertEquals(true, json.contains("\"state\":\"live\",\"partial\":true,"), json);
        assertEquals(true, json.contains("\"end\":null,"), json);
        assertEquals(true, json.contains("\"message\":\"my foo is 1\","), json);
    }

    @Test
    void shouldGiveBackTheSameObjectWhenAVerboseLineIsParsed() {
        ContextObject full = FINISHED.toBuilder().setFields(FIELDS).setLastMessage("done").setPartial(true)
                .setLastSeq(Long.MAX_VALUE).build();
        assertEquals(full, ObjectJson.parseVerbose(ObjectJson.render(full, true, false)));
        ContextObject live = FINISHED.toBuilder().setState(ObjectState.OBJECT_STATE_LIVE).setEndUnixNanos(0).build();
        assertEquals(live, ObjectJson.parseVerbose(ObjectJson.render(live, true, true)));
    }

    @Test
    void shouldIgnoreUnknownKeysAndDefaultMissingOnesWhenParsing() {
        ContextObject o = ObjectJson.parseVerbose("{\"id\":\"a\",\"future\":[1],\"state\":\"expired\"}");
        assertEquals(ContextObject.newBuilder().setId("a").setState(ObjectState.OBJECT_STATE_EXPIRED).build(), o);
    }

    @Test
    void shouldRejectTextWhenItIsNotAVerboseObject() {
        assertThrows(IllegalArgumentException.class, () -> ObjectJson.parseVerbose("[1,2]"));
        assertThrows(IllegalArgumentException.class, () -> ObjectJson.parseVerbose("{\"id\":"));
        assertThrows(IllegalArgumentException.class, () -> ObjectJson.parseVerbose("{\"headers\":[1]}"));
        assertThrows(IllegalArgumentException.class, () -> ObjectJson.parseVerbose("{\"state\":\"asleep\"}"));
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    private static Value num(double d) {
        return Value.newBuilder().setNumberValue(d).build();
    }
}
