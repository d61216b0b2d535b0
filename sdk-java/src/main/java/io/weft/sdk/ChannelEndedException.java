package io.weft.sdk;

import io.grpc.Status;
import java.util.Map;

/**
 * A sender closed its side of a channel (end-of-channel), thrown once by {@link Receiver#receive}
 * for each end. {@link #abrupt()} when the sender's client went away without closing.
 */
public final class ChannelEndedException extends WeftException {

  private final String sender;
  private final boolean abrupt;

  ChannelEndedException(String handle, String sender, boolean abrupt) {
    super("END_OF_CHANNEL", Status.OUT_OF_RANGE.withDescription(
        (abrupt ? "the sender " + sender + " went away from " : "the sender " + sender + " closed ") + handle),
        Map.of("handle", handle, "sender", sender), null);
    this.sender = sender;
    this.abrupt = abrupt;
  }

  /** Who ended the channel: {@code daemon/client}. */
  public String sender() {
    return sender;
  }

  /** True when the sender's client went away without closing. */
  public boolean abrupt() {
    return abrupt;
  }
}
