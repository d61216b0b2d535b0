package io.weft.daemon.bus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {

    private static final long SEGMENT = 64 * 1024;

    @TempDir
    Path dir;

    @Test
    void shouldReadRecordsBackInOrderAcrossSegmentsWhenAppended() throws IOException {
        try (Spool s = open(1 << 20)) {
            for (int i = 0; i < 2000; i++) {
                assertTrue(s.append(record(i)));
            }
            s.flushWrites();
            assertTrue(s.segmentCount() > 1, "rolled over to new segment files");
            for (int i = 0; i < 2000; i++) {
                assertArrayEquals(record(i), s.readNext(), "record " + i);
            }
            assertNull(s.readNext());
        }
    }

    @Test
    void shouldNotReadWhatIsStillBufferedWhenNotFlushed() throws IOException {
        try (Spool s = open(1 << 20)) {
            s.append(record(1));
            assertNull(s.readNext(), "only written records are read");
            s.flushWrites();
            assertArrayEquals(record(1), s.readNext());
        }
    }

    @Test
    void shouldReadUnreleasedRecordsAgainWhenRewound() throws IOException {
        try (Spool s = open(1 << 20)) {
            for (int i = 0; i < 5; i++) {
                s.append(record(i));
            }
            s.flushWrites();
            s.readNext();
            s.readNext();
            long afterTwo = s.readPosition();
            s.readNext();
            s.release(afterTwo);
            s.rewind();
            assertArrayEquals(record(2), s.readNext(), "reading resumes after the released ones");
        }
    }

    @Test
    void shouldDeleteSegmentsWhenEverythingInThemIsReleased() throws IOException {
        try (Spool s = open(1 << 20)) {
            for (int i = 0; i < 2000; i++) {
                s.append(record(i));
            }
            s.flushWrites();
            int before = s.segmentCount();
            while (s.readNext() != null) {
                s.release(s.readPosition());
            }
            assertEquals(1, s.segmentCount(), "only the segment being written is kept, of " + before);
            assertEquals(1, files().size());
        }
    }

    @Test
    void shouldRefuseRecordsWhenTheBoundIsReached() throws IOException {
        try (Spool s = new Spool(dir, SEGMENT, SEGMENT, 0)) {
            s.open();
            int accepted = 0;
            while (s.append(record(accepted))) {
                accepted++;
            }
            assertTrue(accepted > 100);
            assertTrue(s.bytes() <= SEGMENT);
            assertFalse(s.append(record(0)), "still full");
        }
    }

    @Test
    void shouldRecoverEverythingWrittenWhenReopened() throws IOException {
        try (Spool s = open(1 << 20)) {
            for (int i = 0; i < 1500; i++) {
                s.append(record(i));
            }
            s.flushWrites();
            for (int i = 0; i < 700; i++) {
                s.readNext();
                s.release(s.readPosition());
            }
        }
        try (Spool again = open(1 << 20)) {
            List<byte[]> read = readAll(again);
            assertTrue(read.size() >= 800, "every unreleased record is back, got " + read.size());
            assertArrayEquals(record(1499), read.get(read.size() - 1));
            assertEquals(1500 - read.size(), firstIndex(read.get(0)), "in order, from the oldest kept segment");
        }
    }

    @Test
    void shouldTruncateATornRecordWhenReopened() throws IOException {
        try (Spool s = open(1 << 20)) {
            s.append(record(1));
            s.append(record(2));
        }
        Path segment = files().get(0);
        long size = Files.size(segment);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.truncate(size - 3);
        }
        try (Spool again = open(1 << 20)) {
            assertEquals(1, again.recoveredRecords());
            assertArrayEquals(record(1), again.readNext());
            assertNull(again.readNext());
            again.append(record(3));
            again.flushWrites();
            assertArrayEquals(record(3), again.readNext(), "appends continue after the last whole record");
        }
    }

    @Test
    void shouldTruncateACorruptRecordWhenItsChecksumFails() throws IOException {
        try (Spool s = open(1 << 20)) {
            s.append(record(1));
            s.append(record(2));
        }
        Path segment = files().get(0);
        byte[] bytes = Files.readAllBytes(segment);
        bytes[bytes.length - 1] ^= 0x5a;
        Files.write(segment, bytes);
        try (Spool again = open(1 << 20)) {
            assertEquals(1, again.recoveredRecords());
            assertArrayEquals(record(1), again.readNext());
            assertNull(again.readNext());
        }
    }

    @Test
    void shouldForceAfterEveryWriteAndOnlyThenWhenTheIntervalIsZero() throws IOException {
        try (Spool s = open(1 << 20)) {
            s.maybeForce(0);
            assertEquals(0, s.forces(), "nothing written");
            for (int i = 0; i < 3; i++) {
                s.append(record(i));
                s.flushWrites();
                s.maybeForce(i);
            }
            assertEquals(3, s.forces());
            s.maybeForce(10);
            assertEquals(3, s.forces(), "nothing new written");
        }
    }

    @Test
    void shouldForceAtMostOncePerIntervalWhenWritesKeepComing() throws IOException {
        long second = 1_000_000_000L;
        long t0 = -5 * second; // nanoTime's origin is arbitrary: times may be negative
        Spool s = new Spool(dir, 1 << 20, SEGMENT, second);
        s.open();
        try (s) {
            s.append(record(1));
            s.flushWrites();
            s.maybeForce(t0);
            assertEquals(1, s.forces(), "the first write is forced at once");
            for (int i = 1; i < 10; i++) {
                s.append(record(i));
                s.flushWrites();
                s.maybeForce(t0 + i * second / 10);
            }
            assertEquals(1, s.forces(), "within the interval: not again");
            s.maybeForce(t0 + second);
            assertEquals(2, s.forces(), "the interval passed with writes pending");
            s.maybeForce(t0 + 5 * second);
            assertEquals(2, s.forces(), "nothing written since");
        }
    }

    private Spool open(long maxBytes) throws IOException {
        Spool s = new Spool(dir, maxBytes, SEGMENT, 0);
        s.open();
        return s;
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> f = Files.list(dir)) {
            return f.sorted().toList();
        }
    }

    private static List<byte[]> readAll(Spool s) throws IOException {
        List<byte[]> out = new ArrayList<>();
        byte[] r;
        while ((r = s.readNext()) != null) {
            out.add(r);
        }
        return out;
    }

    private static byte[] record(int i) {
        return ("record-" + i + "-" + "x".repeat(80)).getBytes(StandardCharsets.UTF_8);
    }

    private static int firstIndex(byte[] record) {
        String s = new String(record, StandardCharsets.UTF_8);
        return Integer.parseInt(s.substring("record-".length(), s.indexOf('-', "record-".length())));
    }
}
