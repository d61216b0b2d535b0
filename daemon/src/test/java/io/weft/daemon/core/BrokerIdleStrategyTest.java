package io.weft.daemon.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class BrokerIdleStrategyTest {

    private static final long THIRTY_SECONDS_NS = 30_000_000_000L;

    @Test
    void shouldReturnFromDeepSleepWhenWoken() throws Exception {
        BrokerIdleStrategy idle = new BrokerIdleStrategy(0, THIRTY_SECONDS_NS, () -> false);
        AtomicLong rounds = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Thread broker = new Thread(() -> {
            while (!stop.get()) {
                idle.idle(0);
                rounds.incrementAndGet();
            }
        });
        broker.start();
        try {
            await(idle::isSleeping, "the broker sleeps");
            long before = rounds.get();
            idle.wake();
            await(() -> rounds.get() > before, "the woken broker runs another round (not after 30 s)");
        } finally {
            stop.set(true);
            idle.wake();
            broker.join(5_000);
        }
    }

    @Test
    void shouldNotSleepWhenWorkIsAnnouncedMeanwhile() throws Exception {
        AtomicBoolean work = new AtomicBoolean(true);
        BrokerIdleStrategy idle = new BrokerIdleStrategy(0, THIRTY_SECONDS_NS, work::get);
        long start = System.nanoTime();
        idle.idle(0);
        assertTrue(System.nanoTime() - start < THIRTY_SECONDS_NS / 2, "work waiting: no deep sleep");
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() - deadline < 0, "timed out waiting: " + what);
            Thread.sleep(1);
        }
    }
}
