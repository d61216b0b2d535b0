package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.Context;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CallerTest {

  private CallContext handling;

  @AfterEach
  void leaveHandler() {
    if (handling != null) {
      handling.exit();
    }
  }

  private CallContext handle(long remainingNs) {
    handling = new CallContext("c-1", "relay", "go", "client", "daemon", System.nanoTime() + remainingNs,
        Context.ROOT.withCancellation());
    handling.enter();
    return handling;
  }

  @Test
  void shouldFailAsTheParentsDeadlineWhenWeftdCancelledTheHandlerForItsDeadline() {
    handle(TimeUnit.SECONDS.toNanos(30)).cancel("DEADLINE_EXCEEDED");

    CallError e = Caller.interrupted("slow", new InterruptedException());

    assertEquals("DEADLINE_EXCEEDED", e.reason());
    assertEquals("parent", e.scope());
  }

  @Test
  void shouldFailAsTheParentsDeadlineWhenTheCancelArrivedAtTheDeadline() {
    handle(0).cancel("CANCELLED");

    assertEquals("DEADLINE_EXCEEDED", Caller.interrupted("slow", new InterruptedException()).reason());
  }

  @Test
  void shouldFailAsCancelledByTheParentWhenTheHandlersCallerCancelled() {
    handle(TimeUnit.SECONDS.toNanos(30)).cancel("CANCELLED");

    CallError e = Caller.interrupted("slow", new InterruptedException());

    assertEquals("CANCELLED", e.reason());
    assertEquals("parent", e.scope());
  }

  @Test
  void shouldFailAsCancelledWhenAThreadOutsideAnyHandlerWasInterrupted() {
    CallError e = Caller.interrupted("slow", new InterruptedException());

    assertEquals("CANCELLED", e.reason());
    assertEquals("call", e.scope());
  }

  @Test
  void shouldFailAsCancelledWhenTheHandlersThreadWasInterruptedWhileItsCallRuns() {
    handle(TimeUnit.SECONDS.toNanos(30));

    assertEquals("call", Caller.interrupted("slow", new InterruptedException()).scope());
  }
}
