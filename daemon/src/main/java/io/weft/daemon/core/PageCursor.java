package io.weft.daemon.core;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Where a ListObjects page ends. Objects are listed live first, in the order they were first seen,
 * then finished, in the order they ended; {@code after} is the position (a live object's ordinal
 * or a finished object's sequence) of the last object returned. Positions never repeat, so paging
 * is stable while objects come and go: nothing is returned twice. Encoded as an opaque token.
 */
public record PageCursor(boolean inFinished, long after) {

    /** The cursor of the first page. */
    public static final PageCursor START = new PageCursor(false, 0);

    /** Encodes for {@code next_page_token}. */
    public String encode() {
        String raw = (inFinished ? "F:" : "L:") + after;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Decodes a token from a previous response; an empty token is the first page.
     *
     * @throws IllegalArgumentException when the token was not made by {@link #encode()}
     */
    public static PageCursor decode(String token) {
        if (token == null || token.isEmpty()) {
            return START;
        }
        try {
            String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
            if (raw.length() > 2 && raw.charAt(1) == ':' && (raw.charAt(0) == 'L' || raw.charAt(0) == 'F')) {
                long after = Long.parseLong(raw.substring(2));
                if (after >= 0) {
                    return new PageCursor(raw.charAt(0) == 'F', after);
                }
            }
        } catch (IllegalArgumentException e) {
            // Not base64 or not a number: the same answer as any other foreign token.
        }
        throw new IllegalArgumentException("page_token is not a token this daemon issued");
    }
}
