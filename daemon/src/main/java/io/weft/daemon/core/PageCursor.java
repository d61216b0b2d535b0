package io.weft.daemon.core;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Where a ListObjects page ends: objects are listed live first, then finished, each group by id.
 * Encoded as an opaque token so clients cannot depend on its shape.
 */
public record PageCursor(boolean inFinished, String afterId) {

    /** The cursor of the first page. */
    public static final PageCursor START = new PageCursor(false, null);

    /** Encodes for {@code next_page_token}. */
    public String encode() {
        String raw = (inFinished ? "F:" : "L:") + (afterId == null ? "" : afterId);
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
        String raw;
        try {
            raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("page_token is not a token this daemon issued");
        }
        if (raw.length() < 2 || raw.charAt(1) != ':' || (raw.charAt(0) != 'L' && raw.charAt(0) != 'F')) {
            throw new IllegalArgumentException("page_token is not a token this daemon issued");
        }
        String id = raw.substring(2);
        return new PageCursor(raw.charAt(0) == 'F', id.isEmpty() ? null : id);
    }
}
