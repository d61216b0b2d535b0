package io.weft.daemon.grpc;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The threads that write replies and watch items to gRPC streams, so that the broker never
 * serializes a response itself, and that parse large Publish batches, so that a transport thread
 * does not stop reading for them. Bounded: when its queue is full the task runs on the submitting
 * thread instead (gRPC's {@code onNext} does not block) and the overflow is counted.
 */
public final class ReplyExecutor implements Executor, AutoCloseable {

    private final ThreadPoolExecutor pool;
    private final int capacity;
    private final LongAdder overflows = new LongAdder();

    /**
     * @param threads worker threads
     * @param capacity tasks waiting at most
     */
    public ReplyExecutor(int threads, int capacity) {
        AtomicInteger n = new AtomicInteger();
        this.capacity = capacity;
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(capacity),
                r -> {
                    Thread t = new Thread(r, "weft-reply-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                },
                (r, executor) -> {
                    overflows.increment();
                    r.run();
                });
    }

    @Override
    public void execute(Runnable task) {
        pool.execute(task);
    }

    /** Tasks waiting now. */
    public int depth() {
        return pool.getQueue().size();
    }

    /** The most tasks that wait. */
    public int capacity() {
        return capacity;
    }

    /** Tasks that ran on the submitting thread because the queue was full. */
    public long overflows() {
        return overflows.sum();
    }

    @Override
    public void close() {
        pool.shutdown();
        try {
            pool.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.shutdownNow();
    }
}
