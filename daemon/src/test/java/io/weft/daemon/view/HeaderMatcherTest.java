package io.weft.daemon.view;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class HeaderMatcherTest {

    private static final Map<String, String> HEADERS = Map.of("env", "prod", "team", "core");

    @Test
    void shouldMatchEverythingWhenNothingIsWanted() {
        assertTrue(HeaderMatcher.of(Map.of(), false).matches(Map.of()));
        assertTrue(HeaderMatcher.of(Map.of(), true).matches(HEADERS));
    }

    @Test
    void shouldRequireEveryHeaderWhenMatchingAll() {
        assertTrue(HeaderMatcher.of(Map.of("env", "prod", "team", "core"), false).matches(HEADERS));
        assertFalse(HeaderMatcher.of(Map.of("env", "prod", "team", "web"), false).matches(HEADERS));
        assertFalse(HeaderMatcher.of(Map.of("env", "prod", "zone", "eu"), false).matches(HEADERS));
    }

    @Test
    void shouldRequireOneHeaderWhenMatchingAny() {
        assertTrue(HeaderMatcher.of(Map.of("env", "dev", "team", "core"), true).matches(HEADERS));
        assertFalse(HeaderMatcher.of(Map.of("env", "dev", "team", "web"), true).matches(HEADERS));
        assertFalse(HeaderMatcher.of(Map.of("zone", "eu"), true).matches(HEADERS));
    }

    @Test
    void shouldMatchAnyValueWhenTheWantedValueIsEmpty() {
        assertTrue(HeaderMatcher.of(Map.of("env", ""), false).matches(HEADERS));
        assertFalse(HeaderMatcher.of(Map.of("zone", ""), false).matches(HEADERS));
        assertTrue(HeaderMatcher.of(Map.of("zone", "", "team", ""), true).matches(HEADERS));
    }

    @Test
    void shouldNotMatchWhenValuesDifferOnlyInCase() {
        assertFalse(HeaderMatcher.of(Map.of("env", "PROD"), false).matches(HEADERS));
    }
}
