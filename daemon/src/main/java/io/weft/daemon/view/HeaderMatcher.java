package io.weft.daemon.view;

import java.util.Map;

/**
 * Header matching with AMQP headers-exchange semantics ({@code x-match all|any}).
 *
 * <p>A wanted header matches when the object has that header with an equal value; a wanted
 * header with an empty value matches any value of that header (presence). With {@code all}
 * every wanted header must match, with {@code any} at least one. No wanted headers match
 * everything. Immutable; safe to share.
 */
public final class HeaderMatcher {

    private static final HeaderMatcher EVERYTHING = new HeaderMatcher(new String[0], new String[0], false);

    private final String[] names;
    private final String[] values;
    private final boolean any;

    private HeaderMatcher(String[] names, String[] values, boolean any) {
        this.names = names;
        this.values = values;
        this.any = any;
    }

    /**
     * Builds a matcher.
     *
     * @param wanted header names and the values they must have ("" = any value)
     * @param any true for x-match {@code any}, false for {@code all}
     * @return the matcher
     */
    public static HeaderMatcher of(Map<String, String> wanted, boolean any) {
        if (wanted.isEmpty()) {
            return EVERYTHING;
        }
        String[] names = new String[wanted.size()];
        String[] values = new String[wanted.size()];
        int i = 0;
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            names[i] = e.getKey();
            values[i] = e.getValue();
            i++;
        }
        return new HeaderMatcher(names, values, any);
    }

    /**
     * Tells whether headers satisfy this matcher.
     *
     * @param headers an object's headers
     * @return true when they match
     */
    public boolean matches(Map<String, String> headers) {
        if (names.length == 0) {
            return true;
        }
        for (int i = 0; i < names.length; i++) {
            String have = headers.get(names[i]);
            boolean hit = have != null && (values[i].isEmpty() || values[i].equals(have));
            if (hit && any) {
                return true;
            }
            if (!hit && !any) {
                return false;
            }
        }
        return !any;
    }
}
