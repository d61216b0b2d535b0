package io.weft.daemon.view;

import io.weft.api.v1.ContextObject;
import io.weft.api.v1.HeaderMatch;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import java.util.EnumSet;
import java.util.Map;

/**
 * A compiled {@link ObjectFilter}: routing-key patterns, header match and object states.
 *
 * <p>Compile once per request or watcher, then call {@link #matches(String, Map)} and
 * {@link #matchesState} per event or object. Used by the broker thread only (see
 * {@link TopicMatcher}).
 */
public final class ObjectSelector {

    private final TopicMatcher topics;
    private final HeaderMatcher headers;
    /** Null = every state. */
    private final EnumSet<ObjectState> states;

    private ObjectSelector(TopicMatcher topics, HeaderMatcher headers, EnumSet<ObjectState> states) {
        this.topics = topics;
        this.headers = headers;
        this.states = states;
    }

    /**
     * Compiles a filter.
     *
     * <p>States: {@code OBJECT_STATE_UNSPECIFIED} entries are ignored; when no other state is
     * listed every state matches. Values unknown to this build match no object.
     *
     * @param filter the request's filter
     * @return the selector
     * @throws IllegalArgumentException when a routing-key pattern is malformed (the only
     *     failure: the caller may map it to reason {@code INVALID_PATTERN})
     */
    public static ObjectSelector compile(ObjectFilter filter) {
        TopicMatcher topics = TopicMatcher.compile(filter.getRoutingKeysList());
        HeaderMatcher headers = HeaderMatcher.of(
                filter.getHeadersMap(), filter.getHeaderMatch() == HeaderMatch.HEADER_MATCH_ANY);
        EnumSet<ObjectState> states = EnumSet.noneOf(ObjectState.class);
        boolean anyListed = false;
        for (ObjectState s : filter.getStatesList()) {
            if (s == ObjectState.OBJECT_STATE_UNSPECIFIED) {
                continue;
            }
            anyListed = true;
            if (s != ObjectState.UNRECOGNIZED) {
                states.add(s);
            }
        }
        return new ObjectSelector(topics, headers, anyListed ? states : null);
    }

    /**
     * Tells whether a routing key and headers pass the filter (states aside).
     *
     * @param routingKey the event's or object's routing key
     * @param headerMap the object's headers
     * @return true when both the patterns and the header match accept them
     */
    public boolean matches(String routingKey, Map<String, String> headerMap) {
        return topics.matches(routingKey) && headers.matches(headerMap);
    }

    /**
     * Tells whether objects in a state pass the filter.
     *
     * @param state an object's state
     * @return true when the filter lists no states or lists this one
     */
    public boolean matchesState(ObjectState state) {
        return states == null || states.contains(state);
    }

    /**
     * Tells whether a collated object passes the whole filter.
     *
     * @param object the object
     * @return true when its state, routing key and headers all match
     */
    public boolean matches(ContextObject object) {
        return matchesState(object.getState()) && matches(object.getRoutingKey(), object.getHeadersMap());
    }
}
