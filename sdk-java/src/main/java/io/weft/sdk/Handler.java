package io.weft.sdk;

/**
 * One function of an endpoint served with {@link Weft#serve}. It runs on the server's handler
 * threads; what it returns (any JSON-shaped value: null, Boolean, Number, String, Map, List) goes
 * back to the caller; what it throws comes back to the caller as a {@link CallError} with the
 * exception's type, message and stack.
 */
@FunctionalInterface
public interface Handler {
  /**
   * @param ctx the call being handled: its deadline and cancellation, inherited by calls made here
   * @param args the caller's arguments converted to plain Java (see {@link CallContext})
   */
  Object handle(CallContext ctx, Object args) throws Exception;
}
