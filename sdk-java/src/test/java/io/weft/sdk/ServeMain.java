package io.weft.sdk;

import java.util.Map;

/**
 * A separate serving process for {@link CallsIT}: serves endpoint {@code args[1]} whose function
 * {@code hang} never returns, prints "serving" and waits to be killed.
 */
public final class ServeMain {
  private ServeMain() {}

  public static void main(String[] args) throws Exception {
    Weft weft = Weft.builder().address(args[0]).clientId("victim").build();
    weft.serve(args[1], Map.of("hang", (ctx, a) -> {
      Thread.sleep(Long.MAX_VALUE);
      return null;
    }));
    System.out.println("serving");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
