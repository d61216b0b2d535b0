package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.daemon.testing.Certs;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Channels (DESIGN §8, Mitogen's Receiver/Sender) through real daemons: one host, and two peers over mTLS. */
class ChannelsIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static WeftdProcess daemon;
  private static Weft weft;
  private static Weft other;

  @BeforeAll
  static void startDaemon() throws IOException {
    daemon = WeftdProcess.builder().start();
    weft = Weft.builder().address(daemon.target()).clientId("it-receiver").build();
    other = Weft.builder().address(daemon.target()).clientId("it-sender").build();
  }

  @AfterAll
  static void stopDaemon() throws IOException {
    for (AutoCloseable c : new AutoCloseable[] {weft, other, daemon}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        throw new IOException(e);
      }
    }
  }

  private static List<Object> values(Receiver r) {
    List<Object> out = new ArrayList<>();
    for (Receiver.Message m : r) {
      out.add(m.value());
    }
    return out;
  }

  @Test
  void shouldDeliverValuesInOrderAndStopAtEndOfChannelWhenTheSenderCloses() throws Exception {
    try (Receiver r = weft.openReceiver()) {
      assertTrue(r.handle().startsWith(daemon.daemonId() + "/"), r.handle());
      List<Object> sent = new ArrayList<>();
      try (Sender s = other.sender(r.handle())) {
        for (int i = 0; i < 500; i++) {
          s.send(Map.of("i", i));
          sent.add(Map.of("i", (long) i));
        }
      }
      assertEquals(sent, values(r));
      Receiver.Message none = r.receive(Duration.ofMillis(50));
      assertNull(none, "nothing after the end");
    }
  }

  @Test
  void shouldNameTheSenderAndThrowOncePerEndWhenSeveralSendersFeedOneReceiver() throws Exception {
    try (Receiver r = weft.openReceiver(); Sender a = other.sender(r.handle()); Sender b = weft.sender(r.handle())) {
      a.send("from a");
      a.close();
      assertEquals(new Receiver.Message("from a", daemon.daemonId() + "/it-sender"), r.receive(WAIT));
      ChannelEndedException end = assertThrows(ChannelEndedException.class, () -> r.receive(WAIT));
      assertEquals(daemon.daemonId() + "/it-sender", end.sender());
      assertFalse(end.abrupt());
      b.send("from b");
      assertEquals("from b", r.receive(WAIT).value());
    }
  }

  @Test
  void shouldEndOnlyTheSendersSideWhenAClientClosesASenderToItsOwnReceiver() throws Exception {
    try (Receiver r = weft.openReceiver()) {
      try (Sender own = weft.sender(r.handle())) {
        own.send("to myself");
      }
      assertEquals("to myself", r.receive(WAIT).value());
      ChannelEndedException end = assertThrows(ChannelEndedException.class, () -> r.receive(WAIT));
      assertEquals(daemon.daemonId() + "/it-receiver", end.sender());
      try (Sender other = ChannelsIT.other.sender(r.handle())) {
        other.send("still open");
      }
      assertEquals("still open", r.receive(WAIT).value());
    }
  }

  @Test
  void shouldCarryAReceiversHandleAsACallArgument() {
    try (Server s = other.serve("producer", Map.of("produce", (ctx, args) -> {
      Map<?, ?> a = (Map<?, ?>) args;
      try (Sender out = other.sender((String) a.get("reply_to"))) {
        for (long i = 0; i < (Long) a.get("n"); i++) {
          out.send(i * i);
        }
      }
      return "done";
    }));
        Receiver r = weft.openReceiver()) {
      assertEquals("done", weft.call("producer", "produce", Map.of("reply_to", r.handle(), "n", 4)));
      assertEquals(List.of(0L, 1L, 4L, 9L), values(r));
    }
  }

  @Test
  void shouldFailTheSenderWithTargetGoneWhenTheReceiverCloses() {
    Receiver r = weft.openReceiver();
    try (Sender s = other.sender(r.handle())) {
      s.send(1);
      Poll.until(WAIT, () -> counter(daemon, "channel_messages_delivered") > 0, "the first message was delivered");
      r.close();
      Poll.until(WAIT, () -> s.failure().isPresent(), "the sender learns the receiver is gone");
      assertEquals("TARGET_GONE", s.failure().get().reason());
      WeftException e = assertThrows(WeftException.class, () -> s.send(2));
      assertEquals("TARGET_GONE", e.reason());
    }
    WeftException closed = assertThrows(WeftException.class, () -> r.receive(WAIT));
    assertEquals("CANCELLED", closed.reason());
  }

  @Test
  void shouldFailTheSenderWhenTheReceiversProcessIsKilled() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
        ReceiveMain.class.getName(), daemon.target()).redirectErrorStream(true).start();
    try (Sender s = other.sender(handleFrom(p))) {
      s.send("hello");
      Poll.until(WAIT, () -> s.failure().isEmpty() && counter(daemon, "channel_messages_delivered") > 0,
          "delivered to the victim");
      p.destroyForcibly();
      Poll.until(WAIT, () -> s.failure().isPresent(), "the sender learns the receiver went away");
      assertEquals("TARGET_GONE", s.failure().get().reason());
      assertTrue(s.failure().get().getMessage().contains("victim"), s.failure().get().getMessage());
    } finally {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static String handleFrom(Process p) throws IOException {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    for (String line; (line = out.readLine()) != null; ) {
      if (line.startsWith("handle ")) {
        return line.substring("handle ".length());
      }
    }
    throw new IOException("the receiving process ended without a handle");
  }

  @Test
  void shouldDeliverAnAbruptEndWhenTheSendersClientGoesAway() throws Exception {
    try (Receiver r = weft.openReceiver()) {
      Weft leaving = Weft.builder().address(daemon.target()).clientId("leaving").build();
      leaving.sender(r.handle()).send("last words");
      assertEquals("last words", r.receive(WAIT).value());
      leaving.close();
      ChannelEndedException end = assertThrows(ChannelEndedException.class, () -> r.receive(WAIT));
      assertTrue(end.abrupt());
      assertEquals(daemon.daemonId() + "/leaving", end.sender());
    }
  }

  @Test
  void shouldRefuseBadHandlesAndValuesWithClearReasons() {
    WeftException notJson = assertThrows(WeftException.class, () -> other.sender(daemon.daemonId() + "/x").send(Double.NaN));
    assertEquals("NOT_JSON", notJson.reason());
    Map<String, String> expected = Map.of(
        "no-slash", "INVALID_ARGUMENT",
        daemon.daemonId() + "/never-opened", "TARGET_GONE",
        "nowhere/x", "NO_ROUTE");
    expected.forEach((handle, reason) -> {
      Sender s = other.sender(handle);
      s.send("x");
      Poll.until(WAIT, () -> s.failure().isPresent(), "a failure for " + handle);
      assertEquals(reason, s.failure().get().reason(), handle);
      assertThrows(WeftException.class, () -> s.send("again"));
    });
  }

  @Test
  void shouldTellSendersWhatWasNotDeliveredWhenAReceiverDoesNotKeepUp() throws Exception {
    try (WeftdProcess small = WeftdProcess.builder().env("WEFT_CHANNEL_QUEUE", "4")
            .env("WEFT_CHANNEL_MAX_RECEIVERS", "2").start();
        Weft slow = Weft.builder().address(small.target()).build();
        Weft fast = Weft.builder().address(small.target()).build()) {
      Receiver r = slow.openReceiver();
      slow.openReceiver();
      WeftException full = assertThrows(WeftException.class, slow::openReceiver);
      assertEquals("QUEUE_FULL", full.reason());
      int n = 20_000;
      try (Sender s = fast.sender(r.handle())) {
        for (int i = 0; i < n; i++) {
          s.send("x".repeat(200));
        }
        Poll.until(WAIT, () -> counter(small, "channel_messages_in") == n, "weftd saw every send");
        assertTrue(s.undelivered() > 0, "the receiver's queue of 4 overflowed");
        long[] received = {0};
        Poll.until(WAIT, () -> {
          try {
            while (r.receive(Duration.ofMillis(10)) != null) {
              received[0]++;
            }
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return received[0] + s.undelivered() == n;
        }, "every send delivered or reported");
        assertEquals(n, received[0] + s.undelivered(), "every send was delivered or reported undelivered");
      }
    }
  }

  @Test
  void shouldCarryChannelsAcrossAChainOfPeerDaemonsOverMutualTls() throws Exception {
    Certs certs = Certs.create();
    int port;
    try (ServerSocket sock = new ServerSocket(0)) {
      port = sock.getLocalPort();
    }
    try (WeftdProcess b = peer(certs, "b", "WEFT_PEER_LISTEN", "127.0.0.1:" + port);
        WeftdProcess a = peer(certs, "a", "WEFT_PEERS", "127.0.0.1:" + port);
        WeftdProcess c = peer(certs, "c", "WEFT_PEERS", "127.0.0.1:" + port);
        Weft onC = Weft.builder().address(c.target()).clientId("collector").build();
        Weft onA = Weft.builder().address(a.target()).clientId("worker").build()) {
      Poll.until(WAIT, () -> AdminRoutes.best(a, "c") != null, "a has a route to c (through b)");
      Receiver r = onC.openReceiver();
      assertTrue(r.handle().startsWith("c/"), r.handle());
      try (Sender s = onA.sender(r.handle())) {
        s.send(List.of(1, 2));
        s.send("two");
      }
      assertEquals(new Receiver.Message(List.of(1L, 2L), "a/worker"), r.receive(WAIT));
      assertEquals(List.of("two"), values(r));
      Poll.until(WAIT, () -> counter(b, "channel_messages_forwarded") >= 3, "b relayed two messages and the end");

      Sender s2 = onA.sender(r.handle());
      s2.send("before close");
      assertEquals("before close", r.receive(WAIT).value());
      r.close();
      Poll.until(WAIT, () -> s2.failure().isPresent(), "the sender two hops away learns the receiver is gone");
      assertEquals("TARGET_GONE", s2.failure().get().reason());
    }
  }

  @Test
  void shouldFailTheSenderWhenTheLinkToTheReceiversDaemonGoesAway() throws Exception {
    Certs certs = Certs.create();
    int port;
    try (ServerSocket sock = new ServerSocket(0)) {
      port = sock.getLocalPort();
    }
    try (WeftdProcess a = peer(certs, "a", "WEFT_PEERS", "127.0.0.1:" + port);
        Weft onA = Weft.builder().address(a.target()).clientId("worker").build()) {
      Sender s;
      try (WeftdProcess b = peer(certs, "b", "WEFT_PEER_LISTEN", "127.0.0.1:" + port);
          Weft onB = Weft.builder().address(b.target()).clientId("collector").build()) {
        Poll.until(WAIT, () -> AdminRoutes.best(a, "b") != null, "a linked to b");
        Receiver r = onB.openReceiver();
        s = onA.sender(r.handle());
        s.send("hello");
        assertEquals("hello", r.receive(WAIT).value());
        b.kill9(); // no goodbye from b's client: only the link's end tells a
        Poll.until(WAIT, () -> s.failure().isPresent(), "the sender learns the link went away");
      }
      assertEquals("TARGET_GONE", s.failure().get().reason());
      assertTrue(s.failure().get().getMessage().contains("may be lost"), s.failure().get().getMessage());
    }
  }

  private static WeftdProcess peer(Certs certs, String id, String key, String value) throws IOException {
    WeftdProcess.Builder b = WeftdProcess.builder().env("WEFT_DAEMON_ID", id).env(key, value);
    certs.env(id).forEach(b::env);
    return b.start();
  }

  /** The best route to a daemon, from AdminService.Routes. */
  private static final class AdminRoutes {
    static io.weft.api.v1.Route best(WeftdProcess d, String name) {
      return io.weft.api.v1.AdminServiceGrpc.newBlockingStub(d.channel())
          .routes(io.weft.api.v1.RoutesRequest.getDefaultInstance()).getRoutesList().stream()
          .filter(r -> r.getName().equals(name) && r.getBest()).findFirst().orElse(null);
    }
  }

  private static long counter(WeftdProcess d, String name) {
    return io.weft.api.v1.AdminServiceGrpc.newBlockingStub(d.channel())
        .info(io.weft.api.v1.InfoRequest.getDefaultInstance()).getCountersOrDefault(name, 0);
  }
}
