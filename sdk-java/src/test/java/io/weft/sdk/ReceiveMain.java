package io.weft.sdk;

/**
 * A separate receiving process for {@link ChannelsIT}: opens a receiver, prints its handle and
 * waits to be killed.
 */
public final class ReceiveMain {
  private ReceiveMain() {}

  public static void main(String[] args) throws Exception {
    Weft weft = Weft.builder().address(args[0]).clientId("victim").build();
    Receiver r = weft.openReceiver();
    System.out.println("handle " + r.handle());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
