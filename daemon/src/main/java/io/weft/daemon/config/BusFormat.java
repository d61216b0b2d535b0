package io.weft.daemon.config;

/** The bus wire format (DESIGN §6); the README shows a message of each. */
public enum BusFormat {
    /** One JSON message per event, as Contexture's consumers expect. */
    CONTEXTURE,
    /** Many events of one routing key per message, as a protobuf {@code weft.v1.BusBatch}. */
    BATCH
}
