package io.weft.daemon.config;

/** What the bus publisher does with events while the broker is down or slow (DESIGN §6). */
public enum BusPolicy {
    /** A bounded memory queue; the newest are dropped when it is full, and counted. */
    DROP,
    /** A bounded on-disk log, replayed in order after reconnect; at-least-once. */
    SPOOL
}
