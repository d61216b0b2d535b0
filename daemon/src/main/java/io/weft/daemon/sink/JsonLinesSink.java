package io.weft.daemon.sink;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.QueueInfo;
import io.weft.daemon.core.EventSink;
import io.weft.daemon.core.SinkEvent;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;
import org.jctools.queues.SpscArrayQueue;

/**
 * Appends every applied event to a file, one JSON object per line: the event in the proto3 JSON
 * mapping (proto field names), with the object's headers filled in. Beyond {@code maxBytes} the
 * file is rotated to {@code <file>.1} (replacing the previous one), so disk use stays bounded at
 * twice {@code maxBytes}. Runs on its own thread; the broker only offers to its bounded queue and
 * counts what does not fit.
 */
public final class JsonLinesSink implements EventSink {

    private static final Logger LOG = Logger.getLogger("sink.file");
    private static final int DRAIN_LIMIT = 1024;
    private static final long IDLE_PARK_NS = 1_000_000L;

    private final Path file;
    private final long maxBytes;
    private final SpscArrayQueue<SinkEvent> queue;
    private final JsonFormat.Printer printer =
            JsonFormat.printer().omittingInsignificantWhitespace().preservingProtoFieldNames();
    private final AtomicLong confirmedSeq = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong writeErrors = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long stopDeadlineNs;
    private BufferedWriter out;
    private long fileBytes;
    private long pendingSeq;

    /**
     * @param file where to write; its directory is created
     * @param capacity events queued at most
     * @param maxBytes size at which the file is rotated
     */
    public JsonLinesSink(Path file, int capacity, long maxBytes) {
        this.file = file;
        this.maxBytes = maxBytes;
        this.queue = new SpscArrayQueue<>(capacity);
        this.thread = new Thread(this::run, "weft-sink-file");
        this.thread.setDaemon(true);
    }

    @Override
    public String name() {
        return "file";
    }

    @Override
    public boolean offer(SinkEvent event) {
        return queue.offer(event);
    }

    @Override
    public long confirmedSeq() {
        return confirmedSeq.get();
    }

    @Override
    public QueueInfo queueInfo() {
        return QueueInfo.newBuilder()
                .setName("sink.file")
                .setDepth(queue.size())
                .setCapacity(queue.capacity())
                .putDrops("write_error", writeErrors.get())
                .setPolicy("drop newest when full (counted)")
                .build();
    }

    @Override
    public void start() {
        try {
            open();
        } catch (IOException e) {
            throw new UncheckedIOException("sink.file: cannot open " + file + ": " + e.getMessage(), e);
        }
        thread.start();
    }

    private void run() {
        while (running || (!queue.isEmpty() && System.nanoTime() - stopDeadlineNs < 0)) {
            int n = queue.drain(this::write, DRAIN_LIMIT);
            if (n > 0) {
                flush();
            } else if (running) {
                LockSupport.parkNanos(IDLE_PARK_NS);
            }
        }
        flush();
        try {
            out.close();
        } catch (IOException e) {
            LOG.warning("msg=\"close failed\" file=" + file + " error=\"" + e.getMessage() + "\"");
        }
    }

    private void write(SinkEvent e) {
        pendingSeq = e.seq();
        try {
            ContextEvent ev = e.event();
            if (ev.getHeadersCount() == 0 && !e.headers().isEmpty()) {
                ev = ev.toBuilder().putAllHeaders(e.headers()).build();
            }
            String line = printer.print(ev);
            out.write(line);
            out.write('\n');
            fileBytes += line.length() + 1;
            written.incrementAndGet();
            if (fileBytes >= maxBytes) {
                rotate();
            }
        } catch (InvalidProtocolBufferException impossible) {
            writeErrors.incrementAndGet();
        } catch (IOException io) {
            if (writeErrors.getAndIncrement() == 0) {
                LOG.warning("msg=\"write failed; events are counted as write_error\" file=" + file
                        + " error=\"" + io.getMessage() + "\"");
            }
        }
    }

    private void flush() {
        try {
            out.flush();
        } catch (IOException io) {
            writeErrors.incrementAndGet();
        }
        confirmedSeq.set(pendingSeq);
    }

    private void rotate() throws IOException {
        out.close();
        Files.move(file, file.resolveSibling(file.getFileName() + ".1"), StandardCopyOption.REPLACE_EXISTING);
        open();
    }

    private void open() throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        fileBytes = Files.size(file);
    }

    /** Events written so far. */
    public long written() {
        return written.get();
    }

    @Override
    public long close(Duration grace) {
        stopDeadlineNs = System.nanoTime() + grace.toNanos();
        running = false;
        try {
            thread.join(Math.max(1, grace.toMillis() + 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return queue.size();
    }
}
