package io.weft.daemon.bus;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;
import java.util.zip.CRC32C;

/**
 * A bounded, append-only on-disk log of records, in segment files, read back in order.
 *
 * <p>Positions are global byte offsets; a segment file is named by the position of its first
 * record ({@code 00000000000000001234.spool}). A record is {@code [length:int][crc32c:int][bytes]}.
 * {@link #append} buffers; {@link #flushWrites} writes the buffer to the file (from then on a crash
 * of the process loses nothing); {@link #maybeForce} forces to stable storage at most every
 * {@code forceIntervalNs}. {@link #release} deletes the segments wholly below a position; what is
 * not released is read again after {@link #rewind} or a restart (at-least-once).
 *
 * <p>On open, existing segments are scanned: a record that is cut short or fails its checksum
 * (a write torn by a power loss) ends its segment there; the rest of that segment is truncated.
 *
 * <p>Used by one thread only.
 */
final class Spool implements Closeable {

    private static final Logger LOG = Logger.getLogger("bus.spool");
    private static final String SUFFIX = ".spool";
    private static final int HEADER_BYTES = 8;
    private static final int WRITE_BUFFER_BYTES = 256 * 1024;

    private final Path dir;
    private final long maxBytes;
    private final long segmentBytes;
    private final long forceIntervalNs;
    /** Segment base position → its file; the last one is written. */
    private final TreeMap<Long, Path> segments = new TreeMap<>();
    /** Segment base position → the position after its last record, for every segment but the last. */
    private final TreeMap<Long, Long> ends = new TreeMap<>();
    private final ByteBuffer writeBuffer = ByteBuffer.allocate(WRITE_BUFFER_BYTES);
    private final ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
    private final CRC32C crc = new CRC32C();

    private FileChannel writer;
    private long writerBase;
    /** Position after the last appended record (buffered or written). */
    private long appendedEnd;
    /** Position after the last record written to the file. */
    private long writtenEnd;
    private long releasedPosition;
    private long readPosition;
    private FileChannel reader;
    private long readerBase = -1;
    private long lastForceNs;
    private boolean forcedOnce;
    private long forces;
    private boolean forcePending;
    private long recoveredRecords;
    private long truncatedBytes;

    Spool(Path dir, long maxBytes, long segmentBytes, long forceIntervalNs) {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.segmentBytes = segmentBytes;
        this.forceIntervalNs = forceIntervalNs;
    }

    /** Creates the directory if needed and recovers what an earlier run left; reading starts at the oldest. */
    void open() throws IOException {
        Files.createDirectories(dir);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                try {
                    segments.put(Long.parseLong(name.substring(0, name.length() - SUFFIX.length())), f);
                } catch (NumberFormatException notOurs) {
                    LOG.warning("msg=\"ignoring a file that is not a spool segment\" file=" + f);
                }
            }
        }
        long end = 0;
        for (Map.Entry<Long, Path> s : segments.entrySet()) {
            end = s.getKey() + recover(s.getValue());
            ends.put(s.getKey(), end);
        }
        if (segments.isEmpty()) {
            startSegment(0);
        } else {
            writerBase = segments.lastKey();
            ends.remove(writerBase);
            writer = FileChannel.open(segments.lastEntry().getValue(), StandardOpenOption.WRITE);
            writer.position(end - writerBase);
        }
        appendedEnd = end;
        writtenEnd = end;
        releasedPosition = segments.firstKey();
        readPosition = releasedPosition;
        if (recoveredRecords > 0 || truncatedBytes > 0) {
            LOG.info("msg=\"spool recovered\" dir=" + dir + " records=" + recoveredRecords + " bytes="
                    + (end - releasedPosition) + " truncated_bytes=" + truncatedBytes);
        }
    }

    /** Scans one segment, truncating it after its last whole record; returns its valid length. */
    private long recover(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long pos = 0;
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
            while (pos + HEADER_BYTES <= size) {
                h.clear();
                readFully(ch, h, pos);
                h.flip();
                int len = h.getInt();
                int sum = h.getInt();
                if (len < 0 || pos + HEADER_BYTES + len > size) {
                    break;
                }
                ByteBuffer body = ByteBuffer.allocate(len);
                readFully(ch, body, pos + HEADER_BYTES);
                crc.reset();
                crc.update(body.array(), 0, len);
                if ((int) crc.getValue() != sum) {
                    break;
                }
                pos += HEADER_BYTES + len;
                recoveredRecords++;
            }
            if (pos < size) {
                truncatedBytes += size - pos;
                ch.truncate(pos);
            }
            return pos;
        }
    }

    /**
     * Appends a record.
     *
     * @return false, appending nothing, when the spool would exceed its bound
     */
    boolean append(byte[] record) throws IOException {
        int need = HEADER_BYTES + record.length;
        if (bytes() + need > maxBytes) {
            return false;
        }
        if (appendedEnd - writerBase + need > segmentBytes && appendedEnd > writerBase) {
            flushWrites();
            writer.force(false);
            writer.close();
            ends.put(writerBase, appendedEnd);
            startSegment(appendedEnd);
        }
        crc.reset();
        crc.update(record, 0, record.length);
        if (writeBuffer.remaining() < need) {
            flushWrites();
        }
        if (need > writeBuffer.capacity()) {
            header.clear();
            header.putInt(record.length).putInt((int) crc.getValue()).flip();
            writeFully(writer, header);
            writeFully(writer, ByteBuffer.wrap(record));
            appendedEnd += need;
            writtenEnd = appendedEnd;
            forcePending = true;
            return true;
        }
        writeBuffer.putInt(record.length).putInt((int) crc.getValue()).put(record);
        appendedEnd += need;
        return true;
    }

    /** Writes what {@link #append} buffered to the file. */
    void flushWrites() throws IOException {
        if (writeBuffer.position() == 0) {
            return;
        }
        writeBuffer.flip();
        writeFully(writer, writeBuffer);
        writeBuffer.clear();
        writtenEnd = appendedEnd;
        forcePending = true;
    }

    /** Forces written records to stable storage when the interval has passed (or always, with 0). */
    void maybeForce(long nowNs) throws IOException {
        // nanoTime has an arbitrary origin: the first force cannot be timed from zero.
        if (forcePending && (!forcedOnce || nowNs - lastForceNs >= forceIntervalNs)) {
            writer.force(false);
            forces++;
            forcePending = false;
            forcedOnce = true;
            lastForceNs = nowNs;
        }
    }

    /** Times {@link #maybeForce} forced the spool to stable storage. */
    long forces() {
        return forces;
    }

    /**
     * Reads the record at the read position, if one was written.
     *
     * @return the record, or null when reading has caught up with writing
     */
    byte[] readNext() throws IOException {
        while (readPosition < writtenEnd) {
            long base = segments.floorKey(readPosition);
            long segEnd = base == writerBase ? writtenEnd : ends.get(base);
            if (readPosition >= segEnd) {
                readPosition = segments.higherKey(base);
                continue;
            }
            if (readerBase != base) {
                closeReader();
                reader = FileChannel.open(segments.get(base), StandardOpenOption.READ);
                readerBase = base;
            }
            header.clear();
            readFully(reader, header, readPosition - base);
            header.flip();
            int len = header.getInt();
            byte[] body = new byte[len];
            readFully(reader, ByteBuffer.wrap(body), readPosition - base + HEADER_BYTES);
            readPosition += HEADER_BYTES + len;
            return body;
        }
        return null;
    }

    /** The position after the last record {@link #readNext} returned. */
    long readPosition() {
        return readPosition;
    }

    /** Everything before {@code position} is done: deletes the segments that lie wholly below it. */
    void release(long position) throws IOException {
        releasedPosition = Math.max(releasedPosition, position);
        while (segments.size() > 1) {
            Map.Entry<Long, Path> first = segments.firstEntry();
            long nextBase = segments.higherKey(first.getKey());
            if (nextBase > releasedPosition) {
                break;
            }
            if (readerBase == first.getKey()) {
                closeReader();
            }
            Files.deleteIfExists(first.getValue());
            segments.remove(first.getKey());
            ends.remove(first.getKey());
        }
    }

    /** Reading goes back to the oldest record not released. */
    void rewind() {
        readPosition = Math.max(releasedPosition, segments.firstKey());
    }

    /** Bytes on disk (and buffered), released records of the oldest segment included. */
    long bytes() {
        return appendedEnd - segments.firstKey();
    }

    /** Bytes of records not yet released. */
    long pendingBytes() {
        return appendedEnd - Math.max(releasedPosition, segments.firstKey());
    }

    /** Segment files on disk. */
    int segmentCount() {
        return segments.size();
    }

    /** Records found on disk at {@link #open}. */
    long recoveredRecords() {
        return recoveredRecords;
    }

    private void startSegment(long base) throws IOException {
        Path f = dir.resolve(String.format("%020d%s", base, SUFFIX));
        writer = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        writerBase = base;
        segments.put(base, f);
    }

    private void closeReader() throws IOException {
        if (reader != null) {
            reader.close();
            reader = null;
            readerBase = -1;
        }
    }

    @Override
    public void close() throws IOException {
        flushWrites();
        writer.force(false);
        writer.close();
        closeReader();
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long p = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, p);
            if (n < 0) {
                throw new IOException("spool segment ends early at " + p);
            }
            p += n;
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
