package io.weft.daemon.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.BusEvent;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.ObjectState;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContextureFormatTest {

    private static final long T = 1_763_784_000_123_456_789L;

    @Test
    void shouldReadBackWhatItWroteWhenEveryKindRoundTrips() throws Exception {
        Struct fields = Struct.newBuilder().putFields("n", Value.newBuilder().setNumberValue(2).build())
                .putFields("s", Value.newBuilder().setStringValue("x").build()).build();
        List<BusEvent> events = List.of(
                be(ev(EventKind.EVENT_KIND_BORN).setFields(fields)),
                be(ev(EventKind.EVENT_KIND_UPDATE).setFields(fields)),
                be(ev(EventKind.EVENT_KIND_LOG).setFields(fields).setMessage("m is 2")),
                be(ev(EventKind.EVENT_KIND_DELETE).addDeleted("s")),
                BusEvent.newBuilder().setEvent(ev(EventKind.EVENT_KIND_FINISHED))
                        .setEndState(ObjectState.OBJECT_STATE_FINISHED).setElapsedSeconds(1.25).build(),
                BusEvent.newBuilder().setEvent(ev(EventKind.EVENT_KIND_TRANSIENT).setFields(fields))
                        .setEndState(ObjectState.OBJECT_STATE_TRANSIENT).build());
        for (BusEvent e : events) {
            Outgoing out = ContextureFormat.encode(e, "h1", "instance", T + 1_000_000, 3);
            BusEvent back = ContextureFormat.decode(out.routingKey(), Map.of("hostname", "h1", "env", "prod"), out.body());
            ContextEvent in = e.getEvent();
            ContextEvent got = back.getEvent();
            assertEquals(in.getKind(), got.getKind(), new String(out.body(), StandardCharsets.UTF_8));
            assertEquals(in.getId(), got.getId());
            assertEquals(in.getSeq(), got.getSeq());
            assertEquals(in.getFields(), got.getFields());
            assertEquals(in.getDeletedList(), got.getDeletedList());
            assertEquals(in.getMessage(), got.getMessage());
            assertEquals(e.getEndState(), back.getEndState());
            assertEquals(e.getElapsedSeconds(), back.getElapsedSeconds(), 1e-9);
            assertEquals(T, got.getTimeUnixNanos(), "time_in keeps the nanoseconds");
            assertEquals("prod", got.getHeadersOrThrow("env"));
        }
    }

    @Test
    void shouldExplainWhenTheBodyIsNotAContextureMessage() {
        byte[] notJson = "{oops".getBytes(StandardCharsets.UTF_8);
        byte[] noId = "{\"obj\": {}}".getBytes(StandardCharsets.UTF_8);
        byte[] badSeq = "{\"obj_id\": \"a\", \"seq\": \"x\"}".getBytes(StandardCharsets.UTF_8);
        assertEquals("body is not JSON", message(notJson).substring(0, "body is not JSON".length()));
        assertEquals("no obj_id", message(noId));
        assertEquals("seq, time_in or elapsed is not a number", message(badSeq));
    }

    private static String message(byte[] body) {
        return assertThrows(ContextureFormat.BadMessageException.class,
                () -> ContextureFormat.decode("a.b", Map.of(), body)).getMessage();
    }

    private static ContextEvent.Builder ev(EventKind kind) {
        return ContextEvent.newBuilder().setId("obj-1").setRoutingKey("a.b").setKind(kind).setSeq(4).setTimeUnixNanos(T);
    }

    private static BusEvent be(ContextEvent.Builder e) {
        return BusEvent.newBuilder().setEvent(e).build();
    }
}
