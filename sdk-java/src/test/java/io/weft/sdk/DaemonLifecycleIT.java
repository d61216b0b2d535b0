package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ObjectState;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The SDK while weftd comes and goes: nothing thrown, events buffered and delivered. */
class DaemonLifecycleIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static Value num(double d) {
    return Value.newBuilder().setNumberValue(d).build();
  }

  @Test
  void shouldDeliverBufferedEventsWhenDaemonArrivesAfterTheClient() throws Exception {
    try (WeftdProcess daemon = WeftdProcess.builder().env("WEFT_HTTP", "off").create();
        Weft weft = Weft.builder().address(daemon.target()).build()) {
      String id;
      try (Context ctx = weft.context("it.late").field("phase", "before").open()) {
        id = ctx.id();
        for (int i = 1; i <= 50; i++) {
          ctx.set("i", i);
        }
      }
      weft.push("it.late", Map.of("transient", true));
      assertFalse(weft.flush(Duration.ofMillis(200)), "no daemon yet");
      assertEquals(53, weft.pending());
      assertEquals(0, weft.dropped());

      daemon.launchNow();

      assertTrue(weft.flush(WAIT), "flushed once the daemon arrived");
      ContextObject got = weft.getObject(id).orElseThrow();
      assertEquals(ObjectState.OBJECT_STATE_FINISHED, got.getState());
      assertEquals(Map.of("phase", Value.newBuilder().setStringValue("before").build(),
          "i", num(50)), got.getFields().getFieldsMap());
      assertEquals(52, got.getLastSeq());
      assertFalse(got.getPartial());
      Poll.until(() -> weft.pending() == 0, () -> "pending " + weft.pending());
    }
  }

  @Test
  void shouldReconnectAndKeepPublishingWhenDaemonIsKilledAndRestarted() throws Exception {
    try (WeftdProcess daemon = WeftdProcess.builder().env("WEFT_HTTP", "off").start();
        Weft weft = Weft.builder().address(daemon.target())
            .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(200)).build()) {
      Context ctx = weft.context("it.restart").field("n", 0).open();
      assertTrue(weft.flush(WAIT));

      daemon.kill9();
      daemon.waitForExit(WAIT);
      for (int i = 1; i <= 10; i++) {
        ctx.set("n", i); // buffered: the daemon is gone
      }
      daemon.restart();

      assertTrue(weft.flush(WAIT), "flushed after the restart");
      ContextObject got = weft.getObject(ctx.id()).orElseThrow();
      // The new daemon never saw the birth: the object is live and partial, with seq 2..11.
      assertEquals(ObjectState.OBJECT_STATE_LIVE, got.getState());
      assertTrue(got.getPartial());
      assertEquals(Map.of("n", num(10)), got.getFields().getFieldsMap());
      assertEquals(11, got.getLastSeq());
      assertEquals(10, got.getEventCount());
      ctx.close();
      assertTrue(weft.flush(WAIT));
      assertEquals(ObjectState.OBJECT_STATE_FINISHED,
          weft.getObject(ctx.id()).orElseThrow().getState());
    }
  }

  @Test
  void shouldFlushEverythingWhenClosingWithWait() throws Exception {
    try (WeftdProcess daemon = WeftdProcess.builder().env("WEFT_HTTP", "off").start()) {
      String id;
      try (Weft weft = Weft.builder().address(daemon.target()).waitOnClose(WAIT).build()) {
        id = weft.push("it.close", Map.of("last", "words"));
      }
      try (Weft reader = Weft.builder().address(daemon.target()).build()) {
        assertEquals(ObjectState.OBJECT_STATE_TRANSIENT,
            reader.getObject(id).orElseThrow().getState());
      }
    }
  }
}
