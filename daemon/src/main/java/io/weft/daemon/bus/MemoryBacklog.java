package io.weft.daemon.bus;

import io.weft.api.v1.BusEvent;
import io.weft.daemon.core.SinkEvent;
import org.jctools.queues.SpscArrayQueue;

/**
 * The {@code drop} policy's backlog: a ring of at most {@code capacity} events in memory. While it
 * is full the publisher's queue fills, and the broker drops (and counts) what does not fit.
 * Positions count events.
 */
final class MemoryBacklog implements Backlog {

    private final SinkEvent[] ring;
    private final int mask;
    /** Oldest unconfirmed. */
    private long head;
    /** Next to publish. */
    private long send;
    /** After the newest. */
    private long tail;
    private long doneSeq;
    private BusEvent peeked;

    MemoryBacklog(int capacity) {
        int size = Integer.highestOneBit(Math.max(2, capacity) - 1) << 1;
        this.ring = new SinkEvent[size];
        this.mask = size - 1;
    }

    @Override
    public int take(SpscArrayQueue<SinkEvent> queue, int limit) {
        int n = 0;
        while (n < limit && tail - head < ring.length) {
            SinkEvent e = queue.poll();
            if (e == null) {
                break;
            }
            ring[(int) (tail++ & mask)] = e;
            n++;
        }
        return n;
    }

    @Override
    public boolean hasRoom() {
        return tail - head < ring.length;
    }

    @Override
    public BusEvent peek() {
        if (peeked == null && send < tail) {
            peeked = Backlog.toBusEvent(ring[(int) (send & mask)]);
        }
        return peeked;
    }

    @Override
    public void advance() {
        send++;
        peeked = null;
    }

    @Override
    public long position() {
        return send;
    }

    @Override
    public void release(long position, int events) {
        while (head < position) {
            int i = (int) (head++ & mask);
            doneSeq = ring[i].seq();
            ring[i] = null;
        }
    }

    @Override
    public void rewind() {
        send = head;
        peeked = null;
    }

    @Override
    public long depth() {
        return tail - head;
    }

    @Override
    public long doneSeq() {
        return doneSeq;
    }

    @Override
    public boolean empty() {
        return head == tail;
    }

    @Override
    public void sync(long nowNs) {
        // Nothing to make durable: this policy keeps events in memory only.
    }

    @Override
    public void close() {
        // No files.
    }
}
