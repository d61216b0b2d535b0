package io.weft.daemon.stats;

/**
 * The 64-bit string hash the sketches share: what the HLLs count (they mix the long again with
 * MurmurHash3, so only distinct strings need distinct hashes) and what the pending tables of {@link
 * FieldValues} are keyed and indexed by (by its high bits).
 *
 * <p>Blocks of four UTF-16 code units, in two independent lanes (even and odd blocks) so that their
 * multiplies overlap: much cheaper than a byte-wise hash such as FNV-1a, whose chain of one multiply
 * per character dominated a sketch update, and than the sketch library's own string path, which
 * encodes UTF-8 first. Each step ({@code h = rotl((h ^ block) * M, 31)}) is a bijection of its lane,
 * and the lanes are combined so that strings of one length that differ in a single block never
 * collide.
 */
final class Hashing {

    private static final long SEED = 0x9E3779B97F4A7C15L;
    private static final long M = 0xD6E8FEB86659FD93L;
    private static final long M2 = 0xFF51AFD7ED558CCDL;

    private Hashing() {}

    /** The hash of {@code s}'s first {@code chars} UTF-16 code units ({@code chars <= s.length()}). */
    static long hash64(String s, int chars) {
        long a = SEED ^ chars;
        long b = SEED;
        int i = 0;
        for (; i + 8 <= chars; i += 8) {
            a = Long.rotateLeft((a ^ block(s, i)) * M, 31);
            b = Long.rotateLeft((b ^ block(s, i + 4)) * M, 31);
        }
        if (i + 4 <= chars) {
            a = Long.rotateLeft((a ^ block(s, i)) * M, 31);
            i += 4;
        }
        long tail = 0;
        for (int shift = 0; i < chars; i++, shift += 16) {
            tail |= (long) s.charAt(i) << shift;
        }
        return (a ^ tail) * M + b * M2;
    }

    /** Four code units from {@code i}, the first in the low bits. */
    private static long block(String s, int i) {
        return s.charAt(i)
                | (long) s.charAt(i + 1) << 16
                | (long) s.charAt(i + 2) << 32
                | (long) s.charAt(i + 3) << 48;
    }

    /** The hash of all of {@code s}. */
    static long hash64(String s) {
        return hash64(s, s.length());
    }
}
