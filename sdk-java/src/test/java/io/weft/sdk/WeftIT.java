package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.ObjectState;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The SDK against one real weftd: collation, transient, live snapshots, filters, flush. */
class WeftIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static WeftdProcess daemon;
  private static Weft weft;

  @BeforeAll
  static void startDaemon() throws IOException {
    daemon = WeftdProcess.builder().env("WEFT_HTTP", "off").tcp(true).start();
    weft = Weft.builder().address(daemon.target()).build();
  }

  @AfterAll
  static void stopDaemon() throws IOException {
    if (weft != null) {
      weft.close();
    }
    if (daemon != null) {
      daemon.close();
    }
  }

  static Value num(double d) {
    return Value.newBuilder().setNumberValue(d).build();
  }

  static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  /**
   * Waits until the watch behind {@code monitor} is active: the daemon starts a watch
   * asynchronously, so publish probes (ids starting {@code probe-}) until one comes back.
   */
  static <T> void awaitWatching(Monitor<T> monitor, IntFunction<Context.Builder> probe) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (int n = 0; System.nanoTime() - deadline < 0; n++) {
      probe.apply(n).publishTransient();
      if (monitor.poll(Duration.ofMillis(100)) != null) {
        return;
      }
    }
    throw new AssertionError("the watch never delivered a probe");
  }

  static String probeId(String key, int n) {
    return "probe-" + key + "-" + n;
  }

  static boolean notProbe(ContextObject o) {
    return !o.getId().startsWith("probe-");
  }

  static <T> T nextMatching(Monitor<T> monitor, Predicate<T> wanted) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() - deadline < 0) {
      T item = monitor.poll(Duration.ofMillis(100));
      if (item != null && wanted.test(item)) {
        return item;
      }
    }
    throw new AssertionError("no matching item within " + WAIT);
  }

  static ContextObject await(String id, Predicate<ContextObject> done) {
    ContextObject[] last = new ContextObject[1];
    Poll.until(WAIT, () -> {
      last[0] = weft.getObject(id).orElse(null);
      return last[0] != null && done.test(last[0]);
    }, () -> "object " + id + ": " + last[0]);
    return last[0];
  }

  @Test
  void shouldCollateBornUpdatesLogDeleteFinishedWhenContextCloses() {
    String key = "it.lifecycle";
    try (Monitor<ContextObject> objects = weft.objects(Filter.builder().routingKeys(key).build())) {
      awaitWatching(objects, n -> weft.context(key).guid(probeId(key, n)));
      String id;
      try (Context ctx = weft.context(key).field("url", "/a").header("env", "prod")
          .ignore("password").open()) {
        id = ctx.id();
        ctx.set("status", 200);
        ctx.set("password", "secret");
        ctx.update(Map.of("a", 1, "b", 2));
        ctx.log(Level.INFO, "served {url} with {status}", Map.of("user", "ann"));
        ctx.delete("a");
      }
      assertTrue(weft.flush(WAIT), "flush with the daemon up");

      Map<String, Value> expected = Map.of("url", str("/a"), "status", num(200), "b", num(2),
          "user", str("ann"));
      ContextObject got = weft.getObject(id).orElseThrow();
      assertEquals(ObjectState.OBJECT_STATE_FINISHED, got.getState());
      assertEquals(expected, got.getFields().getFieldsMap());
      assertEquals(Map.of("env", "prod"), got.getHeadersMap());
      assertEquals(key, got.getRoutingKey());
      assertEquals("served /a with 200", got.getLastMessage());
      assertEquals(6, got.getLastSeq());
      assertEquals(6, got.getEventCount());
      assertFalse(got.getPartial());
      assertTrue(got.getEndUnixNanos() >= got.getStartUnixNanos());
      assertTrue(got.getElapsedSeconds() >= 0);

      ContextObject watched = nextMatching(objects, o -> o.getId().equals(id));
      assertEquals(expected, watched.getFields().getFieldsMap());
      assertEquals(ObjectState.OBJECT_STATE_FINISHED, watched.getState());
    }
  }

  @Test
  void shouldCollateAndEmitTransientObjectWhenPushed() {
    String key = "it.transient";
    try (Monitor<ContextObject> objects = weft.objects(Filter.builder().routingKeys(key).build())) {
      awaitWatching(objects, n -> weft.context(key).guid(probeId(key, n)));
      String id = weft.context(key).guid("t-1").field("rows", 10).header("job", "nightly")
          .publishTransient();

      ContextObject watched = nextMatching(objects, o -> o.getId().equals(id));
      assertEquals(ObjectState.OBJECT_STATE_TRANSIENT, watched.getState());
      assertEquals(Map.of("rows", num(10)), watched.getFields().getFieldsMap());
      assertEquals(Map.of("job", "nightly"), watched.getHeadersMap());
      assertEquals(ObjectState.OBJECT_STATE_TRANSIENT, weft.getObject(id).orElseThrow().getState());
    }
  }

  @Test
  void shouldShowLiveSnapshotsWhenObjectIsLongLived() {
    String key = "it.live";
    Context db = weft.context(key).guid("faux-db").field("status", "now this").open();
    try (Monitor<ContextObject> objects =
        weft.objects(Filter.builder().routingKeys(key).includeLive().build())) {
      assertTrue(weft.flush(WAIT));
      ContextObject live = weft.getObject("faux-db").orElseThrow();
      assertEquals(ObjectState.OBJECT_STATE_LIVE, live.getState());
      assertEquals(Map.of("status", str("now this")), live.getFields().getFieldsMap());
      assertEquals(0, live.getEndUnixNanos());

      // include_live: the live object first, then a snapshot per change.
      nextMatching(objects, o -> o.getId().equals("faux-db"));
      db.set("status", "and now that");
      ContextObject snapshot = nextMatching(objects, o -> o.getId().equals("faux-db")
          && o.getFields().getFieldsMap().get("status").equals(str("and now that")));
      assertEquals(ObjectState.OBJECT_STATE_LIVE, snapshot.getState());

      List<String> liveIds = weft.listObjects(
              Filter.builder().routingKeys(key).states(ObjectState.OBJECT_STATE_LIVE).build())
          .map(ContextObject::getId).toList();
      assertEquals(List.of("faux-db"), liveIds);
    } finally {
      db.close();
    }
    assertTrue(weft.flush(WAIT));
    assertEquals(ObjectState.OBJECT_STATE_FINISHED, weft.getObject("faux-db").orElseThrow().getState());
  }

  @Test
  void shouldSelectByRoutingKeyAndHeadersWhenWatchingMessages() {
    Filter filter = Filter.builder().routingKeys("it.filter.*").header("env", "prod").build();
    try (Monitor<ContextEvent> messages = weft.messages(filter)) {
      awaitWatching(messages,
          n -> weft.context("it.filter.ready").guid(probeId("filter", n)).header("env", "prod"));
      weft.context("it.filter.a").guid("match").header("env", "prod").publishTransient();
      weft.context("it.filter.b").guid("wrong-header").header("env", "dev").publishTransient();
      weft.context("other.a").guid("wrong-key").header("env", "prod").publishTransient();
      weft.context("it.filter.a.b").guid("too-deep").header("env", "prod").publishTransient();
      weft.context("it.filter.c").guid("sentinel").header("env", "prod").publishTransient();

      List<String> seen = new ArrayList<>();
      ContextEvent e;
      do {
        e = nextMatching(messages, x -> !x.getId().startsWith("probe-"));
        seen.add(e.getId());
      } while (!e.getId().equals("sentinel"));
      assertEquals(List.of("match", "sentinel"), seen);
      assertEquals(EventKind.EVENT_KIND_TRANSIENT, e.getKind());
    }
  }

  @Test
  void shouldMatchAnyHeaderAndProjectFieldsWhenWatchingObjects() {
    String key = "it.project";
    Filter filter = Filter.builder().routingKeys(key).header("env", "prod").header("team", "core")
        .matchAny().keys("url", "*elapsed").trim("secret").dropEmpty().build();
    try (Monitor<ContextObject> objects = weft.objects(filter)) {
      awaitWatching(objects, n -> weft.context(key).guid(probeId(key, n)).header("team", "core"));
      Map<String, Object> fields = new HashMap<>();
      fields.put("url", "/x");
      fields.put("elapsed", 1.5);
      fields.put("inner", Map.of("elapsed", 2.5, "secret", "s", "empty", ""));
      fields.put("other", "dropped by keys");
      weft.context(key).guid("projected").fields(fields).header("env", "prod").publishTransient();
      weft.context(key).guid("no-header-match").header("env", "dev").publishTransient();
      weft.context(key).guid("sentinel").header("team", "core").publishTransient();

      ContextObject got = nextMatching(objects, WeftIT::notProbe);
      assertEquals("projected", got.getId());
      assertEquals(str("/x"), got.getFields().getFieldsOrThrow("url"));
      assertEquals(List.of(num(1.5), num(2.5)),
          got.getFields().getFieldsOrThrow("elapsed").getListValue().getValuesList());
      assertFalse(got.getFields().containsFields("other"));
      assertEquals("sentinel", nextMatching(objects, WeftIT::notProbe).getId());
    }
    Filter trimmed = Filter.builder().trim("secret").dropEmpty().build();
    ContextObject stored = weft.getObject("projected", trimmed).orElseThrow();
    Value inner = stored.getFields().getFieldsOrThrow("inner");
    assertEquals(Map.of("elapsed", num(2.5)), inner.getStructValue().getFieldsMap());
  }

  @Test
  void shouldAccountForEveryEventWhenBurstOverflowsTheBuffer() {
    int sets = 20_000;
    try (Weft burst = Weft.builder().address(daemon.target()).bufferCapacity(1_000).build()) {
      Context ctx = burst.context("it.burst").open();
      for (int i = 0; i < sets; i++) {
        ctx.set("i", i);
      }
      ctx.close();
      assertTrue(burst.flush(WAIT));

      ContextObject got = weft.getObject(ctx.id()).orElseThrow();
      assertEquals(sets + 2, got.getEventCount() + burst.dropped() + burst.droppedByDaemon(),
          "every event applied or counted as dropped (dropped " + burst.dropped()
              + ", by the daemon " + burst.droppedByDaemon() + ")");
      assertEquals(0, burst.rejected());
    }
  }

  @Test
  void shouldReturnEmptyWhenObjectIsUnknown() {
    assertTrue(weft.getObject("never-published").isEmpty());
  }

  @Test
  void shouldCountRejectionWhenDaemonRefusesEvent() {
    long before = weft.rejected();
    Context.Builder tooManyHeaders = weft.context("it.rejected").guid("rejected-1");
    for (int i = 0; i < 100; i++) {
      tooManyHeaders.header("h" + i, "v");
    }
    tooManyHeaders.publishTransient();
    weft.push("it.rejected", Map.of("ok", true));

    assertTrue(weft.flush(WAIT));
    Poll.until(WAIT, () -> weft.rejected() == before + 1, () -> "rejected " + weft.rejected());
    assertTrue(weft.getObject("rejected-1").isEmpty());
  }

  @Test
  void shouldPublishOverTcpWhenAddressIsHostPort() {
    try (Weft tcp = Weft.builder().address("127.0.0.1:" + daemon.tcpPort()).build()) {
      String id = tcp.push("it.tcp", Map.of("via", "tcp"));
      assertTrue(tcp.flush(WAIT));
      assertEquals(Map.of("via", str("tcp")),
          weft.getObject(id).orElseThrow().getFields().getFieldsMap());
    }
  }
}
