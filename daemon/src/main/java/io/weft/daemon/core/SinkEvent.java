package io.weft.daemon.core;

import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ObjectState;
import java.util.Map;

/**
 * An applied event on its way to a sink.
 *
 * @param seq the broker's sequence over all events handed to sinks, increasing; sinks confirm by it
 * @param event the event as applied (seq and time filled in)
 * @param headers the object's headers (the event itself carries them only at birth)
 * @param endState FINISHED or TRANSIENT when this event ended its object, else UNSPECIFIED
 * @param elapsedSeconds the object's lifetime when it ended, else 0
 */
public record SinkEvent(
        long seq, ContextEvent event, Map<String, String> headers, ObjectState endState, double elapsedSeconds) {}
