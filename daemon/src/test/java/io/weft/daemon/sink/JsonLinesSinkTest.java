package io.weft.daemon.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.ObjectState;
import io.weft.daemon.core.SinkEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesSinkTest {

    @TempDir
    Path dir;

    @Test
    void shouldWriteOneJsonEventPerLineWithObjectHeadersWhenEventsArrive() throws Exception {
        Path file = dir.resolve("events.jsonl");
        JsonLinesSink sink = new JsonLinesSink(file, 1024, 1 << 20);
        sink.start();
        for (int i = 1; i <= 10; i++) {
            assertTrue(sink.offer(event(i)));
        }
        assertEquals(0, sink.close(Duration.ofSeconds(5)));

        List<String> lines = Files.readAllLines(file);
        assertEquals(10, lines.size());
        ContextEvent.Builder back = ContextEvent.newBuilder();
        JsonFormat.parser().merge(lines.get(9), back);
        assertEquals("o10", back.getId());
        assertEquals(Map.of("env", "prod"), back.getHeadersMap(), "headers come from the object");
        assertEquals(10, sink.confirmedSeq());
    }

    @Test
    void shouldRotateToDotOneWhenFileReachesMaxBytes() throws Exception {
        Path file = dir.resolve("events.jsonl");
        long maxBytes = 2_000;
        JsonLinesSink sink = new JsonLinesSink(file, 4096, maxBytes);
        sink.start();
        for (int i = 1; i <= 200; i++) {
            sink.offer(event(i));
        }
        sink.close(Duration.ofSeconds(5));

        Path rotated = dir.resolve("events.jsonl.1");
        assertTrue(Files.exists(rotated));
        assertTrue(Files.size(file) < maxBytes, "the live file restarted after rotation");
        assertTrue(Files.size(rotated) >= maxBytes && Files.size(rotated) < maxBytes + 200,
                "the rotated file holds one file's worth: disk use stays bounded at about twice max-bytes");
        List<String> current = Files.readAllLines(file);
        assertTrue(current.get(current.size() - 1).contains("\"o200\""));
        assertEquals(200, sink.written());
    }

    private static SinkEvent event(int i) {
        ContextEvent e = ContextEvent.newBuilder()
                .setId("o" + i)
                .setRoutingKey("app.request")
                .setKind(EventKind.EVENT_KIND_TRANSIENT)
                .setSeq(1)
                .setTimeUnixNanos(1_000L * i)
                .build();
        return new SinkEvent(i, e, Map.of("env", "prod"), ObjectState.OBJECT_STATE_TRANSIENT, 0);
    }
}
