package io.weft.daemon.grpc;

/**
 * Limits on one event (DESIGN §5); every one has a clear error when passed.
 *
 * @param eventBytes serialized size of one event
 * @param depth nesting of values (the fields object itself is depth 1)
 * @param fields fields in one event
 * @param headers headers in one event
 */
public record EventLimits(int eventBytes, int depth, int fields, int headers) {

    /** Longest routing key, in UTF-8 bytes. */
    public static final int ROUTING_KEY_BYTES = 255;
    /** Longest object id, in UTF-8 bytes. */
    public static final int ID_BYTES = 128;
    /** Longest header name, in UTF-8 bytes. */
    public static final int HEADER_NAME_BYTES = 255;
    /** Longest header value, in UTF-8 bytes. */
    public static final int HEADER_VALUE_BYTES = 4096;
}
