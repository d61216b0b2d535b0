package io.weft.daemon.core;

import io.weft.api.v1.QueueInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A sink with a fixed capacity that confirms only when the test says so. */
final class FakeSink implements EventSink {
    final List<SinkEvent> accepted = new ArrayList<>();
    final int capacity;
    long confirmed;

    FakeSink(int capacity) {
        this.capacity = capacity;
    }

    void confirmAll() {
        confirmed = accepted.isEmpty() ? confirmed : accepted.get(accepted.size() - 1).seq();
    }

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public boolean offer(SinkEvent event) {
        if (accepted.size() - countConfirmed() >= capacity) {
            return false;
        }
        accepted.add(event);
        return true;
    }

    private long countConfirmed() {
        return accepted.stream().filter(e -> e.seq() <= confirmed).count();
    }

    @Override
    public long confirmedSeq() {
        return confirmed;
    }

    @Override
    public QueueInfo queueInfo() {
        return QueueInfo.newBuilder().setName("sink.fake").build();
    }

    @Override
    public void start() {}

    @Override
    public long close(Duration grace) {
        return 0;
    }
}
