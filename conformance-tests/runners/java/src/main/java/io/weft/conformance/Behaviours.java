package io.weft.conformance;

import io.weft.sdk.CallContext;
import io.weft.sdk.CallError;
import io.weft.sdk.Handler;
import io.weft.sdk.Weft;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Handler behaviours described as data (README, step "serve"), and what each function saw. */
final class Behaviours {
  private static final long WAIT_CANCEL_MAX_MS = 10_000;

  private final Session session;
  private final Map<String, Map<String, Object>> seen = new ConcurrentHashMap<>();

  Behaviours(Session session) {
    this.session = session;
  }

  synchronized Map<String, Object> seen(String key) {
    return new HashMap<>(seen.get(key));
  }

  /** A handler running {@code behaviour}; a nested call goes through the serving client, so weftd knows its parent. */
  Handler handler(Weft serving, String key, Map<?, ?> behaviour) {
    Map<String, Object> record = new HashMap<>(Map.of("invocations", 0, "cancelled", 0));
    record.put("args", null);
    seen.put(key, record);
    return (ctx, args) -> {
      synchronized (this) {
        record.put("invocations", (Integer) record.get("invocations") + 1);
        record.put("args", args);
      }
      return perform(serving, ctx, record, behaviour, args);
    };
  }

  private Object perform(Weft w, CallContext ctx, Map<String, Object> record, Map<?, ?> b, Object args)
      throws Exception {
    if (b.containsKey("return")) {
      return b.get("return");
    }
    if (Boolean.TRUE.equals(b.get("echo"))) {
      return args;
    }
    if (b.get("raise") instanceof Map<?, ?> r) {
      throw new IllegalStateException(String.valueOf(r.get("message")));
    }
    if (Boolean.TRUE.equals(b.get("wait_cancel"))) {
      CountDownLatch cancelled = new CountDownLatch(1);
      ctx.onCancel(cancelled::countDown);
      try {
        cancelled.await(WAIT_CANCEL_MAX_MS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        // The SDK interrupts a handler whose call was cancelled: that is the cancellation we wait for.
      }
      boolean was = ctx.isCancelled();
      if (was) {
        synchronized (this) {
          record.put("cancelled", (Integer) record.get("cancelled") + 1);
        }
      }
      return was ? "cancelled" : "not cancelled";
    }
    if (b.get("call") instanceof Map<?, ?> c) {
      Map<String, Object> out = new LinkedHashMap<>();
      try {
        out.put("value", session.call(w, (String) c.get("target"), (String) c.get("function"), c.get("args"),
            c.get("timeout_ms")));
      } catch (CallError e) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("reason", e.reason());
        error.put("scope", e.scope());
        out.put("error", error);
      }
      return out;
    }
    throw new IllegalArgumentException("unknown behaviour " + b);
  }
}
