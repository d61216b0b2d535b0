package io.weft.daemon.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TopicMatcherTest {

    @ParameterizedTest(name = "{0} ~ \"{1}\" -> {2}")
    @CsvSource({
        "a.b.c, a.b.c, true",
        "a.b.c, a.b, false",
        "a.b.c, a.b.c.d, false",
        "a.b, a.c, false",
        "#, a, true",
        "#, a.b.c, true",
        "#, '', true",
        "a.#, a, true",
        "a.#, a.b, true",
        "a.#, a.b.c, true",
        "a.#, b.a, false",
        "#.b, b, true",
        "#.b, a.b, true",
        "#.b, a.x.b, true",
        "#.b, a.b.c, false",
        "a.#.b, a.b, true",
        "a.#.b, a.x.b, true",
        "a.#.b, a.x.y.b, true",
        "a.#.b, a.x.y.c, false",
        "a.#.b, b, false",
        "*, a, true",
        "*, a.b, false",
        "*, '', false",
        "*.*, a.b, true",
        "*.*, a, false",
        "*.*, a.b.c, false",
        "a.*, a.b, true",
        "a.*, a, false",
        "*.b, x.b, true",
        "#.#, a, true",
        "#.#, '', true",
        "a.#.#.b, a.b, true",
        "#.a.#, a, true",
        "#.a.#, x.a.y.z, true",
        "#.a.#, x.y.z, false",
        "#.a.#.b.#, x.a.y.b.z, true",
        "#.a.#.b.#, x.b.y.a.z, false",
        "*.#, a, true",
        "*.#, '', false",
        "#.*, a.b.c, true",
        "a.*.#, a, false",
        "a.*.#, a.b, true",
        "Ab-c_9.x, Ab-c_9.x, true",
        "Ab-c_9.x, ab-c_9.x, false",
    })
    void shouldMatchLikeAmqpTopicsWhenGivenOnePattern(String pattern, String key, boolean expected) {
        assertEquals(expected, TopicMatcher.compile(List.of(pattern)).matches(key));
    }

    @Test
    void shouldMatchEverythingWhenThereAreNoPatterns() {
        TopicMatcher m = TopicMatcher.compile(List.of());
        assertTrue(m.matches("any.key.at.all"));
    }

    @Test
    void shouldMatchWhenAnyOfSeveralPatternsMatches() {
        TopicMatcher m = TopicMatcher.compile(List.of("a.b", "c.*", "x.#.y"));
        assertTrue(m.matches("a.b"));
        assertTrue(m.matches("c.d"));
        assertTrue(m.matches("x.y"));
        assertTrue(m.matches("x.1.2.y"));
        assertFalse(m.matches("a.c"));
        assertFalse(m.matches("c"));
        assertFalse(m.matches("x.y.z"));
    }

    @Test
    void shouldFollowEveryBranchWhenPatternsSharePrefixes() {
        TopicMatcher m = TopicMatcher.compile(List.of("a.b.c", "a.*.d", "a.#.e"));
        assertTrue(m.matches("a.b.c"));
        assertTrue(m.matches("a.b.d"));
        assertTrue(m.matches("a.b.e"));
        assertTrue(m.matches("a.b.x.e"));
        assertFalse(m.matches("a.b.x"));
    }

    @Test
    void shouldFindLiteralsWhenANodeHasManyChildren() {
        List<String> patterns = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            patterns.add("svc" + i + ".req");
        }
        TopicMatcher m = TopicMatcher.compile(patterns);
        for (int i = 0; i < 500; i++) {
            assertTrue(m.matches("svc" + i + ".req"), "svc" + i);
        }
        assertFalse(m.matches("svc500.req"));
        assertFalse(m.matches("svc1.res"));
    }

    @Test
    void shouldGiveTheSameAnswerWhenTheKeyIsCached() {
        TopicMatcher m = TopicMatcher.compile(List.of("a.#"));
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 1000; i++) {
                assertEquals(i % 2 == 0, m.matches((i % 2 == 0 ? "a." : "b.") + i), "round " + round + " key " + i);
            }
        }
    }

    @Test
    void shouldAnswerQuicklyWhenManyHashesCouldBacktrack() {
        String pattern = "#.a" + ".#.a".repeat(60) + ".#.c";
        String key = "a.".repeat(120) + "b";
        TopicMatcher m = TopicMatcher.compile(List.of(pattern));
        // Backtracking would try ~C(120, 60) ways to split the key; the automaton is linear.
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertFalse(m.matches(key)));
        assertTrue(m.matches("a.".repeat(61) + "c"));
    }

    @Test
    void shouldRejectPatternWhenAWordIsEmpty() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TopicMatcher.compile(List.of("ok", "a..b")));
        assertEquals("routing-key pattern \"a..b\": word 2 (at offset 2) is empty", e.getMessage());
    }

    @Test
    void shouldRejectPatternWhenItIsEmpty() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TopicMatcher.compile(List.of("")));
        assertTrue(e.getMessage().contains("word 1 (at offset 0) is empty"), e.getMessage());
    }

    @Test
    void shouldRejectPatternWhenAWordMixesWildcardsAndLetters() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TopicMatcher.compile(List.of("a.b*.c")));
        assertTrue(e.getMessage().startsWith("routing-key pattern \"a.b*.c\": word 2 (at offset 2) \"b*\""),
                e.getMessage());
    }

    @Test
    void shouldRejectPatternWhenAWordHasOtherCharacters() {
        assertThrows(IllegalArgumentException.class, () -> TopicMatcher.compile(List.of("a.é")));
        assertThrows(IllegalArgumentException.class, () -> TopicMatcher.compile(List.of("a b")));
        assertThrows(IllegalArgumentException.class, () -> TopicMatcher.compile(List.of("a.")));
    }

    @Test
    void shouldRejectPatternWhenLongerThan255Bytes() {
        String ok = "a".repeat(255);
        assertTrue(TopicMatcher.compile(List.of(ok)).matches(ok));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TopicMatcher.compile(List.of("a".repeat(256))));
        assertTrue(e.getMessage().contains("is 256 bytes long; at most 255"), e.getMessage());
    }
}
