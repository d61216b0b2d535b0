package io.weft.conformance;

import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.EndpointPolicy;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.ObjectState;
import io.weft.sdk.ChannelEndedException;
import io.weft.sdk.Context;
import io.weft.sdk.Filter;
import io.weft.sdk.Handler;
import io.weft.sdk.Level;
import io.weft.sdk.Monitor;
import io.weft.sdk.Receiver;
import io.weft.sdk.Sender;
import io.weft.sdk.Server;
import io.weft.sdk.StatsNamespace;
import io.weft.sdk.Weft;
import io.weft.sdk.WeftException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** One scenario: a client per daemon and what the steps named, every step through the Java SDK. */
final class Session implements AutoCloseable {
  /** Steps the Java SDK cannot express, with the reason the matrix shows. */
  static final Map<String, String> UNSUPPORTED = Map.of(
      "raw_events", "the SDK numbers events itself: it cannot send chosen seqs, a missing birth or a duplicate",
      "stats_rejections", "the Java SDK reports only a count of refused stats ops (Stats.rejected()), not their reasons");

  /** A step an SDK cannot express with these arguments. */
  static final class NotExpressible extends RuntimeException {
    NotExpressible(String why) {
      super(why);
    }
  }

  final Map<String, Weft> clients = new LinkedHashMap<>();
  final String defaultDaemon;
  private final Map<String, Context> contexts = new HashMap<>();
  private final Map<String, Monitor<?>> watches = new HashMap<>();
  private final Map<String, Server> servers = new HashMap<>();
  private final Map<String, CompletableFuture<Object>> futures = new HashMap<>();
  private final Behaviours behaviours = new Behaviours(this);
  private final Map<String, Receiver> receivers = new HashMap<>();
  private final Map<String, Sender> senders = new HashMap<>();

  Session(List<Object> daemons) {
    for (Object d : daemons) {
      Map<?, ?> m = (Map<?, ?>) d;
      String name = (String) m.get("name");
      clients.put(name, Weft.builder().address((String) m.get("target")).clientId("conformance-java-" + name).build());
    }
    defaultDaemon = clients.keySet().iterator().next();
  }

  @Override
  public void close() {
    receivers.values().forEach(Receiver::close);
    senders.values().forEach(Sender::close);
    watches.values().forEach(Monitor::close);
    servers.values().forEach(Server::close);
    futures.values().forEach(f -> f.cancel(true));
    clients.values().forEach(Weft::close);
  }

  /** Performs one step; returns what it observed (null when it observes nothing). */
  Object perform(String action, Weft w, Map<String, Object> a) throws Exception {
    Object value = step(action, w, a);
    return value instanceof Context ? null : value;
  }

  private Object step(String action, Weft w, Map<String, Object> a) throws Exception {
    return switch (action) {
      case "open" -> open(w, a);
      case "set" -> ctx(a).set(str(a, "name"), decode(a.get("value")));
      case "update" -> ctx(a).update(decodeMap(a.get("fields")));
      case "log" -> ctx(a).log(Level.valueOf(str(a, "level", "info").toUpperCase(Locale.ROOT)), str(a, "template"),
          decodeMap(a.get("fields")));
      case "delete" -> ctx(a).delete(strings(a.get("names")).toArray(String[]::new));
      case "finish" -> {
        ctx(a).close();
        yield null;
      }
      case "transient" -> describe(w, a).publishTransient();
      case "flush" -> w.flush(millis(a, "timeout_ms", 5000));
      case "get" -> w.getObject(str(a, "id"), filter(a, false).build()).map(Session::object).orElse(null);
      case "list" -> w.listObjects(filter(a, true).build()).map(Session::object).toList();
      case "watch" -> watch(w, a);
      case "watch_next" -> watchNext(a);
      case "close_watch" -> {
        watches.remove(str(a, "watch")).close();
        yield null;
      }
      case "stats" -> stats(w, a);
      case "stats_flush" -> w.stats().flush(millis(a, "timeout_ms", 5000));
      case "stats_rejected" -> Map.of("count", w.stats().rejected());
      case "stats_enabled" -> w.stats().namespace(str(a, "ns")).enabled();
      case "serve" -> serve(w, a);
      case "close_server" -> {
        servers.remove(str(a, "server")).close();
        yield null;
      }
      case "handler_seen" -> behaviours.seen(str(a, "server") + "." + str(a, "function"));
      case "call" -> call(w, str(a, "target"), str(a, "function"), a.get("args"), a.get("timeout_ms"));
      case "call_async" -> {
        futures.put(str(a, "as"), w.callAsync(str(a, "target"), str(a, "function"), decode(a.get("args")),
            millis(a, "timeout_ms", 10_000)));
        yield null;
      }
      case "cancel" -> futures.get(str(a, "call")).cancel(true);
      case "await" -> await(a);
      case "in_parallel" -> inParallel(w, a);
      case "open_receiver" -> {
        Receiver r = w.openReceiver();
        receivers.put(str(a, "as"), r);
        yield r.handle();
      }
      case "close_receiver" -> {
        receivers.remove(str(a, "receiver")).close();
        yield null;
      }
      case "receive" -> receive(a);
      case "sender" -> {
        senders.put(str(a, "as"), w.sender(str(a, "handle")));
        yield null;
      }
      case "send" -> {
        Sender out = senders.get(str(a, "sender"));
        for (Object v : (List<?>) a.get("values")) {
          out.send(decode(v));
        }
        yield null;
      }
      case "close_sender" -> {
        senders.remove(str(a, "sender")).close();
        yield null;
      }
      case "sender_failure" -> senders.get(str(a, "sender")).failure()
          .map(f -> (Object) Map.of("code", f.status().getCode().name(), "reason", f.reason())).orElse(null);
      default -> throw new NotExpressible("the Java runner has no step '" + action + "'");
    };
  }

  // ---- contexts

  private Context.Builder describe(Weft w, Map<String, Object> a) {
    Context.Builder b = w.context(str(a, "key"));
    decodeMap(a.get("fields")).forEach(b::field);
    if (a.get("headers") instanceof Map<?, ?> h) {
      h.forEach((k, v) -> b.header((String) k, (String) v));
    }
    if (a.containsKey("id")) {
      b.guid(str(a, "id"));
    }
    if (a.containsKey("ignore")) {
      b.ignore(strings(a.get("ignore")));
    }
    return b;
  }

  private String open(Weft w, Map<String, Object> a) {
    Context c = describe(w, a).open();
    contexts.put(str(a, "as", c.id()), c);
    return c.id();
  }

  private Context ctx(Map<String, Object> a) {
    return contexts.get(str(a, "ctx"));
  }

  /** The scenario's escapes: {"$float": "NaN"} (not JSON) and {"$ctx": name} (a context as a value: a link). */
  Object decode(Object v) {
    if (v instanceof Map<?, ?> m) {
      if (m.size() == 1 && m.containsKey("$float")) {
        return Double.parseDouble(((String) m.get("$float")).replace("inf", "Infinity"));
      }
      if (m.size() == 1 && m.containsKey("$ctx")) {
        return contexts.get((String) m.get("$ctx"));
      }
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put((String) k, decode(x)));
      return out;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(x -> out.add(decode(x)));
      return out;
    }
    return v;
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> decodeMap(Object v) {
    return v == null ? Map.of() : (Map<String, Object>) decode(v);
  }

  // ---- views

  private static Filter.Builder filter(Map<String, Object> a, boolean withStates) {
    Filter.Builder b = Filter.builder();
    if (a.get("filter") instanceof Map<?, ?> f) {
      if (f.get("routing_keys") != null) {
        b.routingKeys(strings(f.get("routing_keys")).toArray(String[]::new));
      }
      if (f.get("headers") instanceof Map<?, ?> h) {
        h.forEach((k, v) -> b.header((String) k, (String) v));
      }
      if ("any".equals(f.get("match"))) {
        b.matchAny();
      }
      if (withStates && f.get("states") != null) {
        b.states(strings(f.get("states")).stream()
            .map(s -> ObjectState.valueOf("OBJECT_STATE_" + s.toUpperCase(Locale.ROOT)))
            .toArray(ObjectState[]::new));
      }
    }
    if (a.get("projection") instanceof Map<?, ?> p) {
      if (p.get("keys") != null) {
        b.keys(strings(p.get("keys")).toArray(String[]::new));
      }
      if (p.get("trim") != null) {
        b.trim(strings(p.get("trim")).toArray(String[]::new));
      }
      if (Boolean.TRUE.equals(p.get("drop_empty"))) {
        b.dropEmpty();
      }
    }
    return b;
  }

  private Object watch(Weft w, Map<String, Object> a) {
    Filter.Builder f = filter(a, false);
    if ("objects".equals(str(a, "mode", "messages"))) {
      if (Boolean.TRUE.equals(a.get("include_live"))) {
        f.includeLive();
      }
      watches.put(str(a, "as"), w.objects(f.build()));
    } else {
      watches.put(str(a, "as"), w.messages(f.build()));
    }
    return null;
  }

  private Object watchNext(Map<String, Object> a) throws InterruptedException {
    Monitor<?> m = watches.get(str(a, "watch"));
    return collect(a, left -> {
      Object item = m.poll(left);
      if (item == null) {
        return null;
      }
      return new Item(item instanceof ContextObject o ? object(o) : message((ContextEvent) item), true);
    });
  }

  /** One collected item, and whether to wait for more after it. */
  private record Item(Object value, boolean more) {}

  /** The next item within {@code left}, or null when none came. */
  private interface NextItem {
    Item next(Duration left) throws InterruptedException;
  }

  /** Up to a step's {@code count} items (1) within its {@code timeout_ms} (3000). */
  private static List<Object> collect(Map<String, Object> a, NextItem next) throws InterruptedException {
    long end = System.nanoTime() + millis(a, "timeout_ms", 3000).toNanos();
    int count = ((Number) a.getOrDefault("count", 1.0)).intValue();
    List<Object> items = new ArrayList<>();
    while (items.size() < count) {
      long left = end - System.nanoTime();
      if (left <= 0) {
        break;
      }
      Item item = next.next(Duration.ofNanos(left));
      if (item == null) {
        break;
      }
      items.add(item.value());
      if (!item.more()) {
        break;
      }
    }
    return items;
  }

  static Map<String, Object> object(ContextObject o) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", o.getId());
    out.put("routing_key", o.getRoutingKey());
    out.put("headers", o.getHeadersMap());
    out.put("fields", Json.fromStruct(o.getFields()));
    out.put("state", o.getState().name().replace("OBJECT_STATE_", "").toLowerCase(Locale.ROOT));
    out.put("partial", o.getPartial());
    out.put("last_seq", o.getLastSeq());
    out.put("event_count", o.getEventCount());
    out.put("last_message", o.getLastMessage());
    out.put("elapsed_seconds", o.getElapsedSeconds());
    out.put("daemon_id", o.getDaemonId());
    return out;
  }

  static Map<String, Object> message(ContextEvent e) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", e.getId());
    out.put("routing_key", e.getRoutingKey());
    out.put("kind", e.getKind().name().replace("EVENT_KIND_", "").toLowerCase(Locale.ROOT));
    out.put("headers", e.getHeadersMap());
    out.put("fields", Json.fromStruct(e.getFields()));
    out.put("deleted", e.getDeletedList());
    out.put("seq", e.getSeq());
    if (e.getKind() == EventKind.EVENT_KIND_LOG) {
      out.put("message", e.getMessage());
      out.put("level", e.getLevelValue() == 0 ? "" : e.getLevel().name().replace("LOG_LEVEL_", "").toLowerCase(Locale.ROOT));
    }
    return out;
  }

  // ---- statistics

  private Object stats(Weft w, Map<String, Object> a) {
    StatsNamespace ns = w.stats().namespace(str(a, "ns"));
    String coll = str(a, "collection", "");
    String rec = str(a, "record_key", "");
    String key = str(a, "key", "");
    switch (str(a, "op")) {
      case "add" -> {
        double delta = ((Number) a.getOrDefault("delta", 1.0)).doubleValue();
        if (coll.isEmpty()) {
          ns.add(key, delta);
        } else {
          ns.add(coll, rec, key, delta);
        }
      }
      case "set" -> {
        if (coll.isEmpty()) {
          ns.set(key, decode(a.get("value")));
        } else {
          ns.set(coll, rec, key, decode(a.get("value")));
        }
      }
      case "put" -> ns.put(coll, rec, decodeMap(a.get("record")));
      case "append" -> ns.append(coll, decodeMap(a.get("record")), ((Number) a.getOrDefault("max_len", 0.0)).intValue());
      case "remove" -> {
        if (coll.isEmpty()) {
          ns.remove(key);
        } else if (key.isEmpty()) {
          ns.removeRecord(coll, rec);
        } else {
          throw new NotExpressible("the Java SDK removes an entry or a record, not a value of a record");
        }
      }
      case "derive" -> {
        if (coll.isEmpty()) {
          ns.derive(key, str(a, "expression"));
        } else {
          ns.derive(coll, key, str(a, "expression"));
        }
      }
      default -> throw new IllegalArgumentException("unknown stats op " + a.get("op"));
    }
    return null;
  }

  // ---- calls

  private Object serve(Weft w, Map<String, Object> a) {
    String name = str(a, "as", str(a, "endpoint"));
    Map<String, Handler> handlers = new LinkedHashMap<>();
    ((Map<?, ?>) a.get("functions")).forEach((fn, b) ->
        handlers.put((String) fn, behaviours.handler(w, name + "." + fn, (Map<?, ?>) b)));
    EndpointPolicy.Builder policy = EndpointPolicy.newBuilder();
    if (a.get("policy") instanceof Map<?, ?> p) {
      if (p.get("allowed_clients") != null) {
        policy.addAllAllowedClients(strings(p.get("allowed_clients")));
      }
      if (p.get("allowed_hosts") != null) {
        policy.addAllAllowedHosts(strings(p.get("allowed_hosts")));
      }
      if (p.get("allowed_daemons") != null) {
        policy.addAllAllowedDaemons(strings(p.get("allowed_daemons")));
      }
    }
    servers.put(name, w.serve(str(a, "endpoint"), handlers, policy.build(), 8));
    return null;
  }

  Object call(Weft w, String target, String function, Object args, Object timeoutMs) {
    Duration timeout = timeoutMs == null ? Duration.ofSeconds(10) : Duration.ofMillis(((Number) timeoutMs).longValue());
    return w.call(target, function, decode(args), timeout);
  }

  private Object await(Map<String, Object> a) throws Exception {
    CompletableFuture<Object> f = futures.get(str(a, "call"));
    try {
      return f.get(millis(a, "timeout_ms", 10_000).toMillis(), TimeUnit.MILLISECONDS);
    } catch (CancellationException e) {
      // A cancelled future has no call error of its own: report what the Python SDK raises for it.
      throw new WeftException("CANCELLED", io.grpc.Status.CANCELLED.withDescription("cancelled by the caller"),
          Map.of("scope", "call"), e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    } catch (TimeoutException e) {
      throw new IllegalStateException("the call did not end within the await's timeout", e);
    }
  }

  private Object inParallel(Weft w, Map<String, Object> a) {
    List<Weft.Call> calls = new ArrayList<>();
    for (Object c : (List<?>) a.get("calls")) {
      Map<?, ?> m = (Map<?, ?>) c;
      calls.add(new Weft.Call((String) m.get("target"), (String) m.get("function"), decode(m.get("args"))));
    }
    return w.inParallel(millis(a, "timeout_ms", 10_000), calls);
  }

  // ---- channels

  /** Up to {@code count} items within {@code timeout_ms}: messages, ends, and the receiver's failure (last). */
  private Object receive(Map<String, Object> a) throws InterruptedException {
    Receiver r = receivers.get(str(a, "receiver"));
    return collect(a, left -> {
      try {
        Receiver.Message m = r.receive(left);
        if (m == null) {
          return null;
        }
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("value", m.value());
        item.put("sender", m.sender());
        return new Item(item, true);
      } catch (ChannelEndedException e) {
        return new Item(Map.of("end", Map.of("sender", e.sender(), "abrupt", e.abrupt())), true);
      } catch (WeftException e) {
        return new Item(Map.of("failed", Map.of("code", e.status().getCode().name(), "reason", e.reason())), false);
      }
    });
  }

  // ---- argument helpers

  static String str(Map<String, Object> a, String key) {
    Object v = a.get(key);
    if (v == null) {
      throw new IllegalArgumentException("missing argument '" + key + "'");
    }
    return (String) v;
  }

  static String str(Map<String, Object> a, String key, String otherwise) {
    Object v = a.get(key);
    return v == null ? otherwise : (String) v;
  }

  static List<String> strings(Object v) {
    List<String> out = new ArrayList<>();
    ((List<?>) v).forEach(x -> out.add((String) x));
    return out;
  }

  static Duration millis(Map<String, Object> a, String key, long otherwise) {
    Object v = a.get(key);
    return Duration.ofMillis(v == null ? otherwise : ((Number) v).longValue());
  }
}
