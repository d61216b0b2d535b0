package io.weft.daemon.bus;

import com.google.protobuf.InvalidProtocolBufferException;
import io.weft.api.v1.BusEvent;
import io.weft.daemon.core.SinkEvent;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;
import org.jctools.queues.SpscArrayQueue;

/**
 * The {@code spool} policy's backlog: every event goes to the on-disk {@link Spool} as soon as
 * the publisher takes it (it is then done for {@code Flush}), and is published from there. What is
 * not confirmed survives a lost connection, a broker outage and a restart of weftd. When the spool
 * is full the newest events are dropped and counted ({@code spool_full}); when the disk fails, too
 * ({@code spool_error}).
 */
final class SpoolBacklog implements Backlog {

    private static final Logger LOG = Logger.getLogger("bus.spool");

    private final Spool spool;
    private final AtomicLong spoolFull;
    private final AtomicLong spoolErrors;
    private long pending;
    private long takenSeq;
    private volatile long doneSeq;
    private BusEvent peeked;
    private long peekedEnd;
    private long position;
    private boolean errorLogged;

    SpoolBacklog(Spool spool, AtomicLong spoolFull, AtomicLong spoolErrors) {
        this.spool = spool;
        this.spoolFull = spoolFull;
        this.spoolErrors = spoolErrors;
        this.pending = spool.recoveredRecords();
        this.position = spool.readPosition();
    }

    @Override
    public int take(SpscArrayQueue<SinkEvent> queue, int limit) {
        int n = 0;
        SinkEvent e;
        while (n < limit && (e = queue.poll()) != null) {
            n++;
            takenSeq = e.seq();
            try {
                if (spool.append(Backlog.toBusEvent(e).toByteArray())) {
                    pending++;
                } else {
                    spoolFull.incrementAndGet();
                }
            } catch (IOException io) {
                spoolErrors.incrementAndGet();
                logOnce(io);
            }
        }
        return n;
    }

    @Override
    public boolean hasRoom() {
        return true; // a full spool drops (and counts) instead
    }

    @Override
    public BusEvent peek() throws IOException {
        while (peeked == null) {
            byte[] record = spool.readNext();
            if (record == null) {
                return null;
            }
            try {
                peeked = BusEvent.parseFrom(record);
                peekedEnd = spool.readPosition();
            } catch (InvalidProtocolBufferException corrupt) {
                spoolErrors.incrementAndGet();
                pending--;
                position = spool.readPosition();
            }
        }
        return peeked;
    }

    @Override
    public void advance() {
        position = peekedEnd;
        peeked = null;
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public void release(long position, int events) throws IOException {
        pending -= events;
        spool.release(position);
    }

    @Override
    public void rewind() {
        spool.rewind();
        position = spool.readPosition();
        peeked = null;
    }

    @Override
    public long depth() {
        return pending;
    }

    @Override
    public long doneSeq() {
        return doneSeq;
    }

    @Override
    public boolean empty() {
        return pending == 0;
    }

    @Override
    public void sync(long nowNs) {
        try {
            spool.flushWrites();
            spool.maybeForce(nowNs);
        } catch (IOException io) {
            spoolErrors.incrementAndGet();
            logOnce(io);
        } finally {
            // Written (or counted as failed): a crash of weftd from here on loses none of them.
            doneSeq = takenSeq;
        }
    }

    @Override
    public void close() throws IOException {
        spool.close();
    }

    private void logOnce(IOException io) {
        if (!errorLogged) {
            errorLogged = true;
            LOG.warning("msg=\"spool write failed; events are dropped and counted as spool_error\" error=\""
                    + io.getMessage() + "\"");
        }
    }

    /** Bytes the spool holds on disk. */
    long bytes() {
        return spool.bytes();
    }

    /** Spool files on disk. */
    int segments() {
        return spool.segmentCount();
    }
}
