package io.weft.daemon.view;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.api.v1.ContextObject;
import io.weft.api.v1.HeaderMatch;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ObjectSelectorTest {

    @Test
    void shouldMatchEverythingWhenTheFilterIsEmpty() {
        ObjectSelector s = ObjectSelector.compile(ObjectFilter.getDefaultInstance());
        assertTrue(s.matches("a.b", Map.of()));
        for (ObjectState state : ObjectState.values()) {
            assertTrue(s.matchesState(state), state.name());
        }
    }

    @Test
    void shouldRequirePatternAndHeadersWhenBothAreGiven() {
        ObjectSelector s = ObjectSelector.compile(ObjectFilter.newBuilder()
                .addRoutingKeys("web.#")
                .putHeaders("env", "prod")
                .build());
        assertTrue(s.matches("web.req", Map.of("env", "prod")));
        assertFalse(s.matches("web.req", Map.of("env", "dev")));
        assertFalse(s.matches("db.query", Map.of("env", "prod")));
    }

    @Test
    void shouldMatchOneHeaderWhenHeaderMatchIsAny() {
        ObjectSelector s = ObjectSelector.compile(ObjectFilter.newBuilder()
                .putHeaders("env", "prod")
                .putHeaders("team", "core")
                .setHeaderMatch(HeaderMatch.HEADER_MATCH_ANY)
                .build());
        assertTrue(s.matches("x", Map.of("team", "core")));
        assertFalse(s.matches("x", Map.of("team", "web")));
    }

    @Test
    void shouldKeepOnlyListedStatesWhenStatesAreGiven() {
        ObjectSelector s = ObjectSelector.compile(ObjectFilter.newBuilder()
                .addStates(ObjectState.OBJECT_STATE_FINISHED)
                .addStates(ObjectState.OBJECT_STATE_EXPIRED)
                .build());
        assertTrue(s.matchesState(ObjectState.OBJECT_STATE_FINISHED));
        assertTrue(s.matchesState(ObjectState.OBJECT_STATE_EXPIRED));
        assertFalse(s.matchesState(ObjectState.OBJECT_STATE_LIVE));
        assertFalse(s.matchesState(ObjectState.OBJECT_STATE_TRANSIENT));
    }

    @Test
    void shouldIgnoreUnspecifiedStateWhenItIsTheOnlyOne() {
        ObjectSelector s = ObjectSelector.compile(ObjectFilter.newBuilder()
                .addStates(ObjectState.OBJECT_STATE_UNSPECIFIED)
                .build());
        assertTrue(s.matchesState(ObjectState.OBJECT_STATE_LIVE));
    }

    @Test
    void shouldMatchNoStateWhenOnlyUnknownStatesAreListed() {
        ObjectSelector s = ObjectSelector.compile(ObjectFilter.newBuilder().addStatesValue(99).build());
        assertFalse(s.matchesState(ObjectState.OBJECT_STATE_LIVE));
    }

    @Test
    void shouldCheckStateRoutingKeyAndHeadersWhenGivenAnObject() {
        ObjectSelector s = ObjectSelector.compile(ObjectFilter.newBuilder()
                .addRoutingKeys("a.*")
                .addStates(ObjectState.OBJECT_STATE_LIVE)
                .build());
        ContextObject live = ContextObject.newBuilder()
                .setRoutingKey("a.b").setState(ObjectState.OBJECT_STATE_LIVE).build();
        assertTrue(s.matches(live));
        assertFalse(s.matches(live.toBuilder().setState(ObjectState.OBJECT_STATE_FINISHED).build()));
        assertFalse(s.matches(live.toBuilder().setRoutingKey("b.a").build()));
    }

    @Test
    void shouldThrowWhenAPatternIsMalformed() {
        assertThrows(IllegalArgumentException.class,
                () -> ObjectSelector.compile(ObjectFilter.newBuilder().addRoutingKeys("a..b").build()));
    }
}
