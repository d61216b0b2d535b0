package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.api.v1.ContextEvent;
import org.junit.jupiter.api.Test;

class EventBufferTest {
  private static ContextEvent event(long seq) {
    return ContextEvent.newBuilder().setId("o").setSeq(seq).build();
  }

  @Test
  void shouldDropNewestAndCountWhenFull() {
    EventBuffer buffer = new EventBuffer(3); // the queue rounds up to 4; the bound stays 3
    for (long seq = 1; seq <= 5; seq++) {
      ContextEvent e = event(seq);
      assertEquals(seq <= 3, buffer.offer(() -> e));
    }
    assertEquals(2, buffer.dropped());
    assertEquals(3, buffer.held());
    assertEquals(1, buffer.poll().getSeq());
    assertEquals(2, buffer.poll().getSeq());
    assertEquals(3, buffer.poll().getSeq());
    assertNull(buffer.poll());
  }

  @Test
  void shouldKeepRoomTakenUntilReleasedWhenPolled() {
    EventBuffer buffer = new EventBuffer(2);
    buffer.offer(() -> event(1));
    buffer.offer(() -> event(2));
    buffer.poll();
    buffer.poll();
    assertTrue(buffer.isEmpty());
    assertFalse(buffer.offer(() -> event(3)), "sent but unacknowledged events still count");

    buffer.release(2);
    assertTrue(buffer.offer(() -> event(4)));
    assertEquals(1, buffer.dropped());
  }

  @Test
  void shouldNotBuildEventWhenItWillBeDropped() {
    EventBuffer buffer = new EventBuffer(1);
    buffer.offer(() -> event(1));
    assertFalse(buffer.offer(() -> {
      throw new AssertionError("built although dropped");
    }));
    assertEquals(1, buffer.dropped());
  }

  @Test
  void shouldCountDropWhenOfferedAfterClose() {
    EventBuffer buffer = new EventBuffer(2);
    buffer.countDropped();
    assertEquals(1, buffer.dropped());
    assertEquals(0, buffer.held());
  }
}
