package io.weft.daemon.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HashingTest {

    @Test
    void shouldHashAPrefixAsTheStringOfThatPrefixWhenCut() {
        String s = "10.0.0.1/some/long/path";
        for (int n = 0; n <= s.length(); n++) {
            assertEquals(Hashing.hash64(s.substring(0, n)), Hashing.hash64(s, n), "prefix of " + n);
        }
    }

    @Test
    void shouldGiveDistinctHashesWhenStringsDifferInContentLengthOrCharacterWidth() {
        Set<Long> seen = new HashSet<>();
        int strings = 0;
        for (int a = 0; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                seen.add(Hashing.hash64("10.0." + a + "." + b));
                seen.add(Hashing.hash64("req-" + (a * 256 + b)));
                strings += 2;
            }
        }
        assertEquals(strings, seen.size());
        assertNotEquals(Hashing.hash64(""), Hashing.hash64("\0"));
        assertNotEquals(Hashing.hash64("abcd"), Hashing.hash64("abcd\0"));
        assertNotEquals(Hashing.hash64("\u0100"), Hashing.hash64("\u0001"), "the high byte of a code unit counts");
        assertNotEquals(Hashing.hash64("ab"), Hashing.hash64("ba"));
    }
}
