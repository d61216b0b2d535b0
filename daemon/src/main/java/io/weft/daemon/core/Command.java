package io.weft.daemon.core;

import com.google.protobuf.MessageLite;
import io.weft.api.v1.BusEvent;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.Source;
import io.weft.daemon.stats.StatsEngine;
import io.weft.daemon.view.ObjectSelector;
import io.weft.daemon.view.Projector;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Work handed to the broker thread through {@link Inbound}. Every command belongs to a
 * {@link ClientSession}, whose order the broker preserves. Reply callbacks run on the broker thread
 * and must not block: the gRPC layer hands the reply to its own executor.
 */
public sealed interface Command {

    /** The client whose lane this command travels in. */
    ClientSession session();

    /**
     * An event counts once in {@link Inbound}'s bounds up to this many bytes encoded, and once per
     * started unit beyond: typical events weigh one, so the bounds read as events, yet the default
     * capacity (65,536) holds at most 32 MiB of encoded events whatever their size, not 65,536 of
     * up to {@code limits.event-bytes} each.
     */
    int WEIGHT_UNIT_BYTES = 512;

    /** What the command counts for in {@link Inbound}'s bounds: 1, or {@link #batchWeight} for a batch. */
    default int weight() {
        return 1;
    }

    /**
     * A batch's weight: its events, or its encoded size in {@link #WEIGHT_UNIT_BYTES} units when that is
     * more; at least 1. Stable: protobuf memoizes each message's size.
     */
    static int batchWeight(List<? extends MessageLite> events) {
        long bytes = 0;
        for (MessageLite e : events) {
            bytes += e.getSerializedSize();
        }
        long units = (bytes + WEIGHT_UNIT_BYTES - 1) / WEIGHT_UNIT_BYTES;
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, Math.max(events.size(), units)));
    }

    /** A batch of validated events. */
    record Publish(ClientSession session, long batchSeq, List<ContextEvent> events) implements Command {
        @Override
        public int weight() {
            return batchWeight(events);
        }
    }

    /**
     * Completes once everything the session sent before it reached every sink, or after
     * {@code timeoutNs}.
     */
    record Flush(ClientSession session, long token, long timeoutNs, FlushListener listener)
            implements Command {}

    /** Looks up one object, live first, then finished. */
    record GetObject(
            ClientSession session,
            Source source,
            String id,
            Projector projector,
            Consumer<Optional<ContextObject>> reply)
            implements Command {}

    /** Lists objects in page order (live by id, then finished by id). */
    record ListObjects(
            ClientSession session,
            Source source,
            ObjectSelector selector,
            Projector projector,
            int pageSize,
            PageCursor after,
            Consumer<ListObjectsResponse> reply)
            implements Command {}

    /** Registers a watcher of a source's view; it is removed by cancelling it. */
    record StartWatch(ClientSession session, Source source, Watcher watcher) implements Command {}

    /**
     * Events read from the bus (DESIGN §6, the fleet view): collated by the fleet collator, and
     * handed raw to {@code consumer} when that is a MESSAGES watcher (the watch whose queue
     * received them); null for the always-on fleet consumer.
     */
    record BusEvents(ClientSession session, Watcher consumer, List<BusEvent> events) implements Command {
        @Override
        public int weight() {
            return batchWeight(events);
        }
    }

    /** The call family (DESIGN §8): registrations, invocations, results, cancels; see {@link CallOp}. */
    record Calls(ClientSession session, CallOp op) implements Command {}

    /**
     * Statistics work (StatsService, sketches, recent events, HTTP reports): runs on the broker thread
     * against its {@link StatsEngine}; replies must be handed to another thread.
     */
    record Stats(ClientSession session, Consumer<StatsEngine> work, int weight) implements Command {
        /** Work that counts as one command. */
        public Stats(ClientSession session, Consumer<StatsEngine> work) {
            this(session, work, 1);
        }
    }

    /** How a flush ended. */
    enum FlushOutcome {
        /** Every sink has everything the client sent before the flush. */
        COMPLETE,
        /** The timeout passed first. */
        TIMED_OUT,
        /** {@code flush.max-pending} flushes were waiting already. */
        REFUSED,
        /** The daemon stopped before the sinks had everything. */
        ABANDONED,
    }

    /** Told when a flush is done. Runs on the broker thread; must not block. */
    @FunctionalInterface
    interface FlushListener {
        /**
         * @param token the flush's token
         * @param outcome how it ended
         * @param pending events still on their way to a sink
         */
        void onFlushed(long token, FlushOutcome outcome, long pending);
    }
}
