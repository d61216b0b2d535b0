package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import io.weft.api.v1.SetEnabledRequest;
import io.weft.api.v1.SnapshotRequest;
import io.weft.api.v1.StatsServiceGrpc;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The SDK's statistics against a real weftd. */
class StatsIT {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static Struct namespace(WeftdProcess d, String name) {
    return StatsServiceGrpc.newBlockingStub(d.channel())
        .snapshot(SnapshotRequest.newBuilder().addNamespaces(name).build())
        .getNamespaces().getFieldsOrThrow(name).getStructValue();
  }

  @Test
  void shouldRecordEveryKindOfOpAndCoalesceIncrementsWhenFlushed() throws Exception {
    try (WeftdProcess d = WeftdProcess.start();
        Weft weft = Weft.builder().address(d.target()).build()) {
      Stats stats = weft.stats();
      StatsNamespace my = stats.namespace("My Stuff");
      Counter events = my.counter("Important Events");
      for (int i = 0; i < 10_000; i++) {
        events.increment();
      }
      my.add("Bytes", 512);
      my.add("Bytes", 512);
      my.set("Start Time", 1000);
      my.set("Host", "web-1");
      my.put("Table Statistics", "widgets", Map.of("Rows", 30, "Inserts", 3));
      my.add("Table Statistics", "widgets", "Inserts", 2);
      my.append("Slow Queries", Map.of("Query", "SELECT 1", "Seconds", 2.5), 10);
      my.derive("Per Kilobyte", "[Important Events] / (Bytes / 1024)");
      my.derive("Table Statistics", "Rows/Insert", "Rows / Inserts");
      Supplier<String> handler = my.counted("Handled", () -> "ok");
      Function<Integer, Integer> doubler = my.counted("Doubled", x -> x * 2);
      Runnable tick = my.counted("Ticks", () -> { });
      for (int i = 0; i < 7; i++) {
        assertEquals("ok", handler.get());
      }
      assertEquals(6, doubler.apply(3));
      tick.run();
      assertTrue(stats.flush(WAIT));

      Struct s = namespace(d, "My Stuff");
      assertEquals(10_000.0, s.getFieldsOrThrow("Important Events").getNumberValue());
      assertEquals(1024.0, s.getFieldsOrThrow("Bytes").getNumberValue());
      assertEquals(1000.0, s.getFieldsOrThrow("Start Time").getNumberValue());
      assertEquals("web-1", s.getFieldsOrThrow("Host").getStringValue());
      assertEquals(10_000.0, s.getFieldsOrThrow("Per Kilobyte").getNumberValue());
      assertEquals(7.0, s.getFieldsOrThrow("Handled").getNumberValue());
      assertEquals(1.0, s.getFieldsOrThrow("Doubled").getNumberValue());
      assertEquals(1.0, s.getFieldsOrThrow("Ticks").getNumberValue());
      Struct widgets = s.getFieldsOrThrow("Table Statistics").getStructValue().getFieldsOrThrow("widgets")
          .getStructValue();
      assertEquals(5.0, widgets.getFieldsOrThrow("Inserts").getNumberValue());
      assertEquals(6.0, widgets.getFieldsOrThrow("Rows/Insert").getNumberValue());
      assertEquals("SELECT 1", s.getFieldsOrThrow("Slow Queries").getListValue().getValues(0).getStructValue()
          .getFieldsOrThrow("Query").getStringValue());
      assertTrue(stats.sent() < 100, "10,000 increments are coalesced, sent " + stats.sent());
      assertEquals(0, stats.dropped());
      assertEquals(0, stats.rejected());
    }
  }

  @Test
  void shouldSkipWorkLocallyWhileTheDaemonHasTheNamespaceOff() throws Exception {
    try (WeftdProcess d = WeftdProcess.start();
        Weft weft = Weft.builder().address(d.target()).build()) {
      StatsNamespace web = weft.stats().namespace("Web");
      Counter hits = web.counter("Hits");
      hits.add(5);
      assertTrue(weft.stats().flush(WAIT));
      StatsServiceGrpc.StatsServiceBlockingStub raw = StatsServiceGrpc.newBlockingStub(d.channel());
      raw.setEnabled(SetEnabledRequest.newBuilder().setNamespace("Web").setEnabled(false).build());
      Poll.until(WAIT, () -> !web.enabled(), "the SDK to see Web switched off");
      hits.add(100);
      web.set("Mode", "off");
      web.append("Log", Map.of("a", 1), 0);
      assertTrue(weft.stats().flush(WAIT));
      Struct off = namespace(d, "Web");
      assertEquals(5.0, off.getFieldsOrThrow("Hits").getNumberValue());
      assertFalse(off.containsFields("Mode"));
      assertFalse(off.containsFields("Log"));
      raw.setEnabled(SetEnabledRequest.newBuilder().setNamespace("Web").setEnabled(true).build());
      Poll.until(WAIT, web::enabled, "the SDK to see Web switched on");
      hits.add(1);
      assertTrue(weft.stats().flush(WAIT));
      assertEquals(6.0, namespace(d, "Web").getFieldsOrThrow("Hits").getNumberValue());
    }
  }

  @Test
  void shouldCountOpsTheDaemonRefusesWhenAnExpressionIsBad() throws Exception {
    try (WeftdProcess d = WeftdProcess.start();
        Weft weft = Weft.builder().address(d.target()).build()) {
      StatsNamespace ns = weft.stats().namespace("ns");
      ns.derive("Bad", "1 + * 2");
      ns.set("text", "x");
      ns.add("ok", 1);
      assertTrue(weft.stats().flush(WAIT));
      assertEquals(1, weft.stats().rejected());
      assertEquals(java.util.Set.of("Enabled", "text", "ok"), namespace(d, "ns").getFieldsMap().keySet());
    }
  }

  @Test
  void shouldNeverThrowNorBlockWhenNoDaemonListens() throws Exception {
    try (WeftdProcess d = WeftdProcess.builder().create();
        Weft weft = Weft.builder().address(d.target()).build()) {
      StatsNamespace ns = weft.stats().namespace("ns");
      for (int i = 0; i < 1000; i++) {
        ns.increment("n");
        ns.put("C", "r" + i, Map.of("v", i));
      }
      assertFalse(weft.stats().flush(Duration.ofMillis(300)));
      d.launchNow();
      assertTrue(weft.stats().flush(WAIT), "delivered once the daemon is up");
      Struct s = namespace(d, "ns");
      assertEquals(1000.0, s.getFieldsOrThrow("n").getNumberValue());
      assertEquals(1000, s.getFieldsOrThrow("C").getStructValue().getFieldsCount());
    }
  }

  @Test
  void shouldRefuseAFifthLevelAndBadNamesWhenCalled() {
    try (Weft weft = Weft.builder().address("unix:///nonexistent/weftd.sock").build()) {
      StatsNamespace ns = weft.stats().namespace("ns");
      WeftException deep = assertThrows(WeftException.class,
          () -> ns.put("C", "r", Map.of("v", Map.of("deeper", 1))));
      assertEquals("TOO_DEEP", deep.reason());
      assertTrue(deep.getMessage().contains("would be a 5th"), deep.getMessage());
      assertEquals("TOO_DEEP", assertThrows(WeftException.class, () -> ns.set("k", List.of(1))).reason());
      assertEquals("INVALID_ARGUMENT", assertThrows(WeftException.class,
          () -> weft.stats().namespace("")).reason());
    }
  }
}
