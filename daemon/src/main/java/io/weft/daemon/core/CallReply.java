package io.weft.daemon.core;

import com.google.protobuf.Value;
import io.weft.api.v1.CallError;

/**
 * Where the outcome of a call goes: the caller's unary response, one item of a CallAll stream, or
 * (with peers) an envelope back to the caller's daemon. Exactly one method is called, once, on the
 * broker thread; it must not block.
 */
public interface CallReply {

    /** The handler returned {@code value}; {@code daemonId} is the daemon whose client answered. */
    void value(Value value, String daemonId);

    /** The call failed; {@code error} carries the status code and reason it fails with. */
    void error(CallError error);
}
