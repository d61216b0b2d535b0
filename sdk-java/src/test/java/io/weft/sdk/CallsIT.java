package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.WeftdProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The SDK's calls against one real weftd: serve, call, callAsync, select, inParallel, nesting. */
class CallsIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static WeftdProcess daemon;
  private static Weft weft;

  @BeforeAll
  static void startDaemon() throws IOException {
    daemon = WeftdProcess.builder().start();
    weft = Weft.builder().address(daemon.target()).clientId("it-caller").build();
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

  @Test
  void shouldReturnTheHandlersValueAsPlainJava() {
    try (Server s = weft.serve("inventory", Map.of(
        "count", (ctx, args) -> Map.of("item", ((Map<?, ?>) args).get("item"), "n", 3,
            "caller", ctx.callerClient()),
        "echo", (ctx, args) -> args))) {
      Object r = weft.call("inventory", "count", Map.of("item", "apple"));
      assertEquals(Map.of("item", "apple", "n", 3L, "caller", "it-caller"), r);
      assertEquals(List.of(1L, "x", true, 0.5), weft.call("inventory@" + daemon.daemonId(), "echo",
          List.of(1, "x", true, 0.5)));
      assertNull(weft.call("inventory", "echo", null));
    }
  }

  @Test
  void shouldRaiseCallErrorWithTheRemoteExceptionWhenTheHandlerThrows() {
    try (Server s = weft.serve("shop", Map.of("buy", (ctx, args) -> {
      throw new IllegalStateException("sold out");
    }))) {
      CallError e = assertThrows(CallError.class, () -> weft.call("shop", "buy", "apple"));
      assertEquals("CALL_FAILED", e.reason());
      assertEquals("java.lang.IllegalStateException", e.remoteType());
      assertEquals("sold out", e.remoteMessage());
      assertTrue(e.remoteStack().contains("CallsIT"), e.remoteStack());
      CallError unknown = assertThrows(CallError.class, () -> weft.call("shop", "steal", null));
      assertEquals("UNKNOWN_FUNCTION", unknown.reason());
    }
  }

  @Test
  void shouldInheritTheHandlersDeadlineInNestedCalls() {
    AtomicReference<CallError> nested = new AtomicReference<>();
    try (Server slow = weft.serve("slow", Map.of("wait", (ctx, args) -> {
      Thread.sleep(Long.MAX_VALUE);
      return null;
    }));
         Server relay = weft.serve("relay", Map.of("go", (ctx, args) -> {
           try {
             return weft.call("slow", "wait", null, Duration.ofSeconds(30));
           } catch (CallError e) {
             nested.set(e);
             throw e;
           }
         }))) {
      CallError outer = assertThrows(CallError.class, () -> weft.call("relay", "go", null, Duration.ofMillis(500)));
      assertEquals("DEADLINE_EXCEEDED", outer.reason());
      Poll.until(WAIT, () -> nested.get() != null, "the nested call failed");
      assertEquals("DEADLINE_EXCEEDED", nested.get().reason());
      assertEquals("parent", nested.get().scope());
      Poll.until(WAIT, () -> slow.running() == 0, "the nested handler was cancelled");
    }
  }

  @Test
  void shouldCancelTheRemoteHandlerWhenTheCallerCancelsItsFuture() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    AtomicReference<String> reason = new AtomicReference<>();
    try (Server s = weft.serve("worker", Map.of("long", (ctx, args) -> {
      started.countDown();
      try {
        Thread.sleep(Long.MAX_VALUE);
      } catch (InterruptedException e) {
        reason.set(ctx.cancelReason());
      }
      return null;
    }))) {
      CompletableFuture<Object> f = weft.callAsync("worker", "long", null, Duration.ofSeconds(30));
      assertTrue(started.await(10, TimeUnit.SECONDS));
      f.cancel(true);
      Poll.until(WAIT, () -> reason.get() != null, "the handler saw the cancel");
      assertEquals("CANCELLED", reason.get());
    }
  }

  @Test
  void shouldSelectTheFirstToCompleteAndTheRestInArrivalOrder() {
    try (Server s = weft.serve("timer", Map.of("after", (ctx, args) -> {
      long ms = (Long) args;
      Thread.sleep(ms);
      return ms;
    }))) {
      List<CompletableFuture<Object>> fs = List.of(
          weft.callAsync("timer", "after", 600, WAIT),
          weft.callAsync("timer", "after", 10, WAIT),
          weft.callAsync("timer", "after", 300, WAIT));
      Select<Object> sel = Select.of(fs);
      assertEquals(10L, sel.first(WAIT));
      List<CompletableFuture<Object>> rest = sel.all(WAIT);
      assertEquals(List.of(300L, 600L), rest.stream().map(CompletableFuture::join).toList());
      assertNull(sel.next(WAIT));
    }
  }

  @Test
  void shouldReturnEveryResultOrOneErrorListingEachFailureInParallel() {
    try (Server s = weft.serve("calc", Map.of(
        "double", (ctx, args) -> (Long) args * 2,
        "fail", (ctx, args) -> {
          throw new ArithmeticException("no");
        },
        "hang", (ctx, args) -> {
          Thread.sleep(Long.MAX_VALUE);
          return null;
        }))) {
      assertEquals(List.of(2L, 4L), weft.inParallel(WAIT,
          List.of(new Weft.Call("calc", "double", 1), new Weft.Call("calc", "double", 2))));
      ParallelCallError e = assertThrows(ParallelCallError.class, () -> weft.inParallel(Duration.ofMillis(500), List.of(
          new Weft.Call("calc", "double", 1),
          new Weft.Call("calc", "fail", 1),
          new Weft.Call("calc", "hang", 1),
          new Weft.Call("nowhere", "double", 1))));
      assertEquals(List.of(1, 2, 3), List.copyOf(e.failures().keySet()));
      assertEquals("CALL_FAILED", e.failures().get(1).reason());
      assertEquals("DEADLINE_EXCEEDED", e.failures().get(2).reason());
      assertEquals("NO_ROUTE", e.failures().get(3).reason());
      assertTrue(e.getMessage().contains("3 of 4 calls failed"), e.getMessage());
      Poll.until(WAIT, () -> s.running() == 0, "the hung sibling was cancelled");
    }
  }

  @Test
  void shouldFailThePendingCallWithTargetGoneWithinOneSecondWhenTheServingProcessIsKilled() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
        ServeMain.class.getName(), daemon.target(), "victim").redirectErrorStream(true).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      for (String line; (line = out.readLine()) != null && !line.equals("serving"); ) {
        // the child's logs
      }
      CompletableFuture<Object> f = weft.callAsync("victim", "hang", null, Duration.ofSeconds(30));
      Poll.until(WAIT, () -> daemonCallsPending() == 1, "the call reached the victim");
      long killedAt = System.nanoTime();
      p.destroyForcibly();
      CompletionException e = assertThrows(CompletionException.class, f::join);
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
      CallError ce = assertInstanceOf(CallError.class, e.getCause());
      assertEquals("TARGET_GONE", ce.reason());
      assertTrue(ms < 1000, "dead reply after " + ms + " ms");
    } finally {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldFailThePendingCallAndDropTheLateAnswerWhenTheServerClosesMidCall() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<Throwable> uncaught = new AtomicReference<>();
    Server s = weft.serve("closing", Map.of("slow", (ctx, args) -> {
      Thread.currentThread().setUncaughtExceptionHandler((t, e) -> uncaught.set(e));
      entered.countDown();
      release.await();
      return "late";
    }));
    CompletableFuture<Object> f = weft.callAsync("closing", "slow", null, WAIT);
    assertTrue(entered.await(10, TimeUnit.SECONDS));
    s.close();
    CompletionException e = assertThrows(CompletionException.class, f::join);
    assertEquals("TARGET_GONE", assertInstanceOf(CallError.class, e.getCause()).reason());
    release.countDown();
    Poll.until(WAIT, () -> s.running() == 0, "the handler finished");
    assertNull(uncaught.get(), "the late answer was dropped quietly");
  }

  @Test
  void shouldAnswerEveryCallWhenAThousandAreInFlightAtOnce() {
    try (Server s = weft.serve("square", Map.of("sq", (ctx, args) -> (Long) args * (Long) args))) {
      List<CompletableFuture<Object>> fs = new java.util.ArrayList<>();
      for (long i = 0; i < 1000; i++) { // the serving client takes call.serve-max-in-flight (1,024) at once
        fs.add(weft.callAsync("square", "sq", i, WAIT));
      }
      for (int i = 0; i < fs.size(); i++) {
        assertEquals((long) i * i, fs.get(i).join(), "call " + i);
      }
    }
  }

  @Test
  void shouldFailWithTheCallsOwnDeadlineAndCancelTheHandlerWhenNoAnswerComesInTime() throws Exception {
    AtomicReference<String> why = new AtomicReference<>();
    try (Server s = weft.serve("sluggish", Map.of("nap", (ctx, args) -> {
      try {
        Thread.sleep(Long.MAX_VALUE);
      } catch (InterruptedException e) {
        why.set(ctx.cancelReason());
      }
      return null;
    }))) {
      CallError e = assertThrows(CallError.class, () -> weft.call("sluggish", "nap", null, Duration.ofMillis(300)));
      assertEquals("DEADLINE_EXCEEDED", e.reason());
      assertEquals("call", e.scope());
      Poll.until(WAIT, () -> why.get() != null, "the handler was cancelled");
      assertEquals("DEADLINE_EXCEEDED", why.get());
    }
  }

  @Test
  void shouldFailCallsInFlightAtOnceWhenWeftdGoesAwayAndCallAgainOnceItIsBack() throws Exception {
    try (WeftdProcess own = WeftdProcess.builder().env("WEFT_HTTP", "off").start();
         Weft caller = Weft.builder().address(own.target()).clientId("restart-caller").build()) {
      CompletableFuture<Object> f;
      try (Weft server = Weft.builder().address(own.target()).build();
           Server s = server.serve("stuck", Map.of("hang", (ctx, args) -> {
             Thread.sleep(Long.MAX_VALUE);
             return null;
           }))) {
        f = caller.callAsync("stuck", "hang", null, Duration.ofSeconds(60));
        Poll.until(WAIT, () -> s.running() == 1, "the call reached the handler");
        long killedAt = System.nanoTime();
        own.kill9();
        CompletionException e = assertThrows(CompletionException.class, f::join);
        assertEquals("UNAVAILABLE", assertInstanceOf(CallError.class, e.getCause()).status().getCode().name());
        assertTrue(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killedAt) < 5, "failed long before its deadline");
      }
      own.waitForExit(WAIT);
      own.restart();
      try (Weft server = Weft.builder().address(own.target()).build();
           Server s = server.serve("back", Map.of("ping", (ctx, args) -> "pong"))) {
        // The channel reconnects with gRPC's backoff; a call fails fast (UNAVAILABLE) until it has.
        Poll.until(WAIT, () -> {
          try {
            return "pong".equals(caller.call("back", "ping", null, Duration.ofSeconds(2)));
          } catch (CallError notYet) {
            return false;
          }
        }, "a call over a new stream once weftd is back");
      }
    }
  }

  @Test
  void shouldFailCallsInFlightAndCancelTheirHandlersWhenTheCallerCloses() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    AtomicReference<String> why = new AtomicReference<>();
    try (Server s = weft.serve("abandoned", Map.of("wait", (ctx, args) -> {
      entered.countDown();
      try {
        Thread.sleep(Long.MAX_VALUE);
      } catch (InterruptedException e) {
        why.set(ctx.cancelReason());
      }
      return null;
    }))) {
      Weft caller = Weft.builder().address(daemon.target()).clientId("closing-caller").build();
      CompletableFuture<Object> f = caller.callAsync("abandoned", "wait", null, WAIT);
      assertTrue(entered.await(10, TimeUnit.SECONDS));
      caller.close();
      CompletionException e = assertThrows(CompletionException.class, f::join);
      assertEquals("CANCELLED", assertInstanceOf(CallError.class, e.getCause()).reason());
      Poll.until(WAIT, () -> why.get() != null, "the handler was cancelled");
      assertEquals("CANCELLED", why.get());
      assertThrows(CallError.class, () -> caller.call("abandoned", "wait", null, WAIT), "a closed client calls no more");
    }
  }

  @Test
  void shouldRefuseACallWithQueueFullWhenTheClientHasItsBoundInFlight() throws Exception {
    try (WeftdProcess own = WeftdProcess.builder().env("WEFT_HTTP", "off").start();
         Weft caller = Weft.builder().address(own.target()).clientId("greedy").build()) {
      assertEquals("NO_ROUTE", assertThrows(CallError.class,
          () -> caller.call("nobody", "f", null, WAIT)).reason(), "the stream is open");
      // A stopped weftd answers nothing: every call stays in flight on this side.
      new ProcessBuilder("kill", "-STOP", Long.toString(own.pid())).start().waitFor();
      try {
        List<CompletableFuture<Object>> held = new java.util.ArrayList<>();
        for (int i = 0; i < Caller.MAX_IN_FLIGHT; i++) {
          held.add(caller.callAsync("nobody", "f", null, Duration.ofSeconds(60)));
        }
        CompletionException e = assertThrows(CompletionException.class,
            () -> caller.callAsync("nobody", "f", null, Duration.ofSeconds(60)).join());
        assertEquals("QUEUE_FULL", assertInstanceOf(CallError.class, e.getCause()).reason());
        assertTrue(held.stream().noneMatch(CompletableFuture::isDone), "the bound's calls are still in flight");
      } finally {
        new ProcessBuilder("kill", "-CONT", Long.toString(own.pid())).start().waitFor();
      }
    }
  }

  @Test
  void shouldRegisterAgainAndServeWhenWeftdIsRestarted() throws Exception {
    AtomicReference<String> cancelledBy = new AtomicReference<>();
    CountDownLatch entered = new CountDownLatch(1);
    try (WeftdProcess own = WeftdProcess.builder().env("WEFT_HTTP", "off").start();
         Weft server = Weft.builder().address(own.target()).clientId("phoenix-server")
             .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(200)).build();
         Weft caller = Weft.builder().address(own.target()).clientId("phoenix-caller").build();
         Server s = server.serve("phoenix", Map.of(
             "ping", (ctx, args) -> "pong",
             "hang", (ctx, args) -> {
               entered.countDown();
               try {
                 Thread.sleep(Long.MAX_VALUE);
               } catch (InterruptedException e) {
                 cancelledBy.set(ctx.cancelReason());
               }
               return null;
             }))) {
      assertTrue(s.isRegistered());
      caller.callAsync("phoenix", "hang", null, Duration.ofSeconds(60));
      assertTrue(entered.await(10, TimeUnit.SECONDS));
      own.kill9();
      own.waitForExit(WAIT);
      Poll.until(WAIT, () -> "TARGET_GONE".equals(cancelledBy.get()), "the running handler was cancelled");
      Poll.until(WAIT, () -> !s.isRegistered(), "the registration is lost");
      assertFalse(s.isClosed(), "a server whose daemon went away is not closed");
      own.restart();
      Poll.until(WAIT, () -> {
        try {
          return "pong".equals(caller.call("phoenix", "ping", null, Duration.ofSeconds(2)));
        } catch (CallError notYet) {
          return false;
        }
      }, "the same server answers once weftd is back");
      assertTrue(s.isRegistered());
      assertFalse(s.isClosed());
    }
  }

  @Test
  void shouldStopRegisteringWhenClosedWhileWeftdIsAway() throws Exception {
    try (WeftdProcess own = WeftdProcess.builder().env("WEFT_HTTP", "off").start();
         Weft server = Weft.builder().address(own.target()).clientId("quitter")
             .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(200)).build()) {
      Server s = server.serve("quitter", Map.of("ping", (ctx, args) -> "pong"));
      own.kill9();
      own.waitForExit(WAIT);
      Poll.until(WAIT, () -> !s.isRegistered(), "the registration is lost");
      s.close();
      assertTrue(s.isClosed());
      Poll.until(WAIT, () -> Thread.getAllStackTraces().keySet().stream()
          .noneMatch(t -> t.getName().equals("weft-deadlines-quitter")), "the retry timer is gone");
      own.restart();
      try (Weft caller = Weft.builder().address(own.target()).build()) {
        CallError e = assertThrows(CallError.class, () -> caller.call("quitter", "ping", null, WAIT));
        assertEquals("NO_ROUTE", e.reason());
      }
    }
  }

  private static long daemonCallsPending() {
    return io.weft.api.v1.AdminServiceGrpc.newBlockingStub(daemon.channel())
        .inFlight(io.weft.api.v1.InFlightRequest.getDefaultInstance()).getCallsCount();
  }
}
