package io.weft.sdk;

import io.weft.api.v1.ContextEvent;
import java.util.function.Supplier;

/**
 * Where a context's events go: the client's buffer.
 *
 * <p>The event comes as a supplier, called at most once and only when the event will be kept:
 * when the buffer is full (the daemon is away or slow), building an event that is dropped
 * anyway would be wasted work on the application's thread.
 */
@FunctionalInterface
interface EventSink {
  void publish(Supplier<ContextEvent> event);
}
