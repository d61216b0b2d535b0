package io.weft.daemon.stats;

/**
 * An expression that does not parse or is not valid where it is used: the message says why and
 * {@link #position()} where (1-based character offset).
 */
public final class ExpressionException extends Exception {

    private final int position;

    ExpressionException(String message, int position) {
        super(message + " at position " + position);
        this.position = position;
    }

    /** The 1-based offset of the character where the fault was found. */
    public int position() {
        return position;
    }
}
