package io.weft.daemon.stats;

import io.weft.api.v1.StatsOp;
import java.util.List;

/**
 * One batch of a Record stream, checked on the gRPC thread and applied on the broker thread.
 *
 * @param batchSeq the client's batch number
 * @param ops the ops, in order
 * @param expressions for each op, its parsed expression (derive) or null
 * @param refused for each op, why the check refused it, or null
 * @param listener told on the broker thread once the batch is applied
 */
public record StatsBatch(
        long batchSeq, List<StatsOp> ops, Expression[] expressions, Rejection[] refused, Listener listener) {

    /** What happened to a batch. Runs on the broker thread; must not block. */
    @FunctionalInterface
    public interface Listener {
        /**
         * @param applied ops applied
         * @param disabled ops skipped because their namespace is off
         * @param rejected the ops refused (by the check or by the registry), by index
         */
        void onApplied(StatsBatch batch, int applied, int disabled, List<Refused> rejected);
    }

    /** An op not applied, and why. */
    public record Refused(int index, Rejection rejection) {}
}
