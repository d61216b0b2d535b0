package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.PublishRequest;
import io.weft.daemon.testing.Poll;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The background worker against an in-process fake weftd. */
class PublisherTest {
  private final String name = InProcessServerBuilder.generateName();
  private final ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
  private final List<Server> servers = new ArrayList<>();
  private final List<Weft> clients = new ArrayList<>();

  @AfterEach
  void tearDown() {
    clients.forEach(Weft::close);
    servers.forEach(Server::shutdownNow);
    channel.shutdownNow();
  }

  private FakeContextService startDaemon() throws IOException {
    FakeContextService fake = new FakeContextService();
    servers.add(InProcessServerBuilder.forName(name).addService(fake).build().start());
    return fake;
  }

  private Weft client(Weft.Builder builder) {
    Weft weft = builder.channel(channel)
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50)).build();
    clients.add(weft);
    return weft;
  }

  private Weft client() {
    return client(Weft.builder().clientId("test-client"));
  }

  private static List<Long> seqs(List<ContextEvent> events) {
    return events.stream().map(ContextEvent::getSeq).toList();
  }

  private static List<Long> oneTo(long n) {
    return LongStream.rangeClosed(1, n).boxed().toList();
  }

  @Test
  void shouldDeliverEventsInOrderUnderClientIdWhenDaemonIsUp() throws IOException {
    FakeContextService daemon = startDaemon();
    Weft weft = client();

    try (Context ctx = weft.context("app.request").guid("r1").open()) {
      ctx.set("a", 1);
      ctx.update(Map.of("b", 2));
      ctx.log(Level.INFO, "a={a}");
      ctx.delete("a");
    }
    assertTrue(weft.flush(Duration.ofSeconds(10)));

    List<ContextEvent> events = daemon.events();
    assertEquals(List.of(EventKind.EVENT_KIND_BORN, EventKind.EVENT_KIND_UPDATE,
        EventKind.EVENT_KIND_UPDATE, EventKind.EVENT_KIND_LOG, EventKind.EVENT_KIND_DELETE,
        EventKind.EVENT_KIND_FINISHED), events.stream().map(ContextEvent::getKind).toList());
    assertEquals(oneTo(6), seqs(events));
    assertEquals("test-client", daemon.requests.get(0).getClientId());
    assertTrue(daemon.requests.stream().skip(1).allMatch(r -> r.getClientId().isEmpty()),
        "client_id is read from the first message only");
    List<Long> batchSeqs = daemon.requests.stream().filter(r -> r.getEventsCount() > 0)
        .map(PublishRequest::getBatchSeq).toList();
    assertEquals(oneTo(batchSeqs.size()), batchSeqs);
    PublishRequest flush = daemon.requests.stream().filter(r -> r.getFlushToken() != 0)
        .findFirst().orElseThrow();
    assertEquals(batchSeqs.get(batchSeqs.size() - 1), flush.getBatchSeq(),
        "a flush without events repeats the last batch_seq, keeping acks cumulative");
    Poll.until(() -> weft.pending() == 0, () -> "pending " + weft.pending());
  }

  @Test
  void shouldKeepEachObjectsOrderWhenManyThreadsPublish() throws Exception {
    FakeContextService daemon = startDaemon();
    Weft weft = client();
    int threads = 4;
    int sets = 1000;
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      String id = "obj-" + t;
      workers.add(new Thread(() -> {
        try (Context ctx = weft.context("app.threads").guid(id).open()) {
          for (int i = 0; i < sets; i++) {
            ctx.set("i", i);
          }
        }
      }));
    }
    workers.forEach(Thread::start);
    for (Thread w : workers) {
      w.join();
    }

    assertTrue(weft.flush(Duration.ofSeconds(10)));
    assertEquals(0, weft.dropped());
    for (int t = 0; t < threads; t++) {
      String id = "obj-" + t;
      List<ContextEvent> mine = daemon.events().stream().filter(e -> e.getId().equals(id)).toList();
      assertEquals(oneTo(sets + 2), seqs(mine), id);
    }
  }

  @Test
  void shouldBufferWithoutThrowingWhenDaemonIsAbsentAndDeliverWhenItArrives() throws IOException {
    Weft weft = client();
    Context ctx = weft.context("app.early").open();
    for (int i = 0; i < 100; i++) {
      ctx.set("i", i);
    }
    ctx.close();
    weft.push("app.transient", Map.of("x", 1));

    assertFalse(weft.flush(Duration.ofMillis(100)), "no daemon: the flush times out");
    assertEquals(103, weft.pending());

    FakeContextService daemon = startDaemon();
    Poll.until(() -> daemon.events().size() == 103, () -> "events " + daemon.events().size());
    assertTrue(weft.flush(Duration.ofSeconds(10)));
    List<ContextEvent> early = daemon.events().stream()
        .filter(e -> e.getRoutingKey().equals("app.early")).toList();
    assertEquals(oneTo(102), seqs(early));
    assertEquals(0, weft.dropped());
  }

  @Test
  void shouldResendUnacknowledgedEventsWhenStreamBreaks() throws IOException {
    FakeContextService stuck = startDaemon();
    stuck.acknowledge = false;
    Weft weft = client();
    Context ctx = weft.context("app.resend").open();
    for (int i = 0; i < 20; i++) {
      ctx.set("i", i);
    }
    Poll.until(() -> stuck.events().size() == 21, () -> "first daemon got " + stuck.events().size());
    assertEquals(21, weft.pending(), "nothing acknowledged: everything kept");

    servers.remove(0).shutdownNow(); // the stream breaks
    FakeContextService daemon = startDaemon();
    ctx.set("after", true);

    Poll.until(() -> daemon.events().size() == 22, () -> "second daemon got " + daemon.events().size());
    assertEquals(oneTo(22), seqs(daemon.events()), "resent in order, before the newer event");
    Poll.until(() -> weft.pending() == 0, () -> "pending " + weft.pending());
  }

  @Test
  void shouldDropNewestAndCountWhenBufferIsFull() throws IOException {
    Weft weft = client(Weft.builder().bufferCapacity(10));
    Context ctx = weft.context("app.full").open();
    for (int i = 0; i < 14; i++) {
      ctx.set("i", i);
    }

    assertEquals(5, weft.dropped());
    FakeContextService daemon = startDaemon();
    assertTrue(weft.flush(Duration.ofSeconds(10)));
    assertEquals(oneTo(10), seqs(daemon.events()), "the oldest ten were kept");
  }

  @Test
  void shouldSplitBatchesWhenOverMaxBatchEvents() throws IOException {
    Weft weft = client(Weft.builder().maxBatchEvents(2));
    Context ctx = weft.context("app.batch").open();
    for (int i = 0; i < 4; i++) {
      ctx.set("i", i);
    }
    FakeContextService daemon = startDaemon();

    assertTrue(weft.flush(Duration.ofSeconds(10)));
    assertEquals(5, daemon.events().size());
    assertTrue(daemon.requests.stream().allMatch(r -> r.getEventsCount() <= 2), "batches of 2");
  }

  @Test
  void shouldCountRejectionsAndDaemonDropsWhenAcksReportThem() throws IOException {
    FakeContextService daemon = startDaemon();
    daemon.rejectIds.add("bad");
    daemon.dropIds.add("lost");
    Weft weft = client();
    weft.context("app.x").guid("bad").field("k", 1).open().set("k", 2);
    weft.context("app.x").guid("lost").publishTransient();
    weft.context("app.x").guid("ok").publishTransient();

    assertTrue(weft.flush(Duration.ofSeconds(10)));
    Poll.until(() -> weft.rejected() == 2 && weft.droppedByDaemon() == 1,
        () -> "rejected " + weft.rejected() + " dropped by daemon " + weft.droppedByDaemon());
    Poll.until(() -> weft.pending() == 0, () -> "pending " + weft.pending());
  }

  @Test
  void shouldRejectLocallyWhenEventIsTooLarge() throws IOException {
    FakeContextService daemon = startDaemon();
    Weft weft = client(Weft.builder().maxEventBytes(1024));
    Context ctx = weft.context("app.big").open();
    ctx.set("blob", "x".repeat(2000));
    ctx.set("small", 1);

    assertTrue(weft.flush(Duration.ofSeconds(10)));
    assertEquals(List.of(1L, 3L), seqs(daemon.events()));
    assertEquals(1, weft.rejected());
    Poll.until(() -> weft.pending() == 0, () -> "pending " + weft.pending());
  }

  @Test
  void shouldReturnFalseFromFlushWhenDaemonNeverAnswers() throws IOException {
    FakeContextService daemon = startDaemon();
    daemon.acknowledge = false;
    Weft weft = client();
    weft.push("app.x", Map.of());

    assertFalse(weft.flush(Duration.ofMillis(200)));
  }

  @Test
  void shouldFlushBeforeClosingWhenWaitOnCloseIsSet() throws IOException {
    FakeContextService daemon = startDaemon();
    Weft weft = client(Weft.builder().waitOnClose(Duration.ofSeconds(10)));
    for (int i = 0; i < 50; i++) {
      weft.push("app.x", Map.of("i", i));
    }
    weft.close();

    assertEquals(50, daemon.events().size());
  }

  @Test
  void shouldCountDropsAndNotThrowWhenPublishingAfterClose() {
    Weft weft = client();
    Context ctx = weft.context("app.x").open();
    weft.close();
    ctx.set("late", 1);
    weft.push("app.x", Map.of());

    assertEquals(2, weft.dropped());
    assertFalse(weft.flush(Duration.ofSeconds(1)));
  }
}
