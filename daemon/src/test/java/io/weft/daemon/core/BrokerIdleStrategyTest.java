package io.weft.daemon.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import io.weft.daemon.testing.Poll;
import org.junit.jupiter.api.Test;

class BrokerIdleStrategyTest {

    private static final long THIRTY_SECONDS_NS = 30_000_000_000L;

    @Test
    void shouldReturnFromDeepSleepWhenWoken() throws Exception {
        BrokerIdleStrategy idle = new BrokerIdleStrategy(0, THIRTY_SECONDS_NS, () -> false, () -> true);
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
            Poll.until(idle::isSleeping, () -> "the broker sleeps");
            long before = rounds.get();
            idle.wake();
            Poll.until(() -> rounds.get() > before, () -> "the woken broker runs another round (not after 30 s)");
        } finally {
            stop.set(true);
            idle.wake();
            broker.join(5_000);
        }
    }

    @Test
    void shouldBackOffWithoutSleepingOrSpinningWhenWorkIsPending() {
        BrokerIdleStrategy idle = new BrokerIdleStrategy(0, THIRTY_SECONDS_NS, () -> true, () -> true);
        long start = System.nanoTime();
        for (int i = 0; i < 200; i++) {
            idle.idle(0);
        }
        long tookNs = System.nanoTime() - start;
        assertTrue(tookNs < THIRTY_SECONDS_NS / 2, "work pending: no deep sleep");
        assertTrue(tookNs > 50_000L, "work pending: the broker still parks (backoff), it does not spin");
    }
}
