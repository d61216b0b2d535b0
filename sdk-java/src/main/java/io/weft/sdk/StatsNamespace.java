package io.weft.sdk;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.AppendOp;
import io.weft.api.v1.DeriveOp;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.PutOp;
import io.weft.api.v1.RemoveOp;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsPath;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One statistics namespace (logging.statistics' second level), from {@link Stats#namespace}.
 *
 * <pre>{@code
 * StatsNamespace my = weft.stats().namespace("My Stuff");
 * my.set("Start Time", System.currentTimeMillis() / 1000.0);
 * Counter events = my.counter("Important Events");
 * events.increment();                                        // no RPC: summed locally
 * my.derive("Events/Second", "[Important Events] / (now() - [Start Time])");
 * my.put("Table Statistics", "widgets", Map.of("Rows", 1300000, "Inserts", 400));
 * my.append("Slow Queries", Map.of("Query", sql, "Processing Time", 47.8), 100);
 * }</pre>
 *
 * <p>Never blocks and never throws because weftd is absent or slow. {@code add} and {@code set} on
 * one scalar are coalesced until the next flush (every {@link Weft.Builder#statsInterval}); {@code
 * put}, {@code append}, {@code remove} and {@code derive} are queued, and the ops of one namespace
 * reach weftd in the order they were made (concurrent callers in some order). While weftd has the namespace switched off ({@link
 * #enabled()}, followed through {@code StatsService.WatchEnabled}) every call returns at once and
 * records nothing. Invalid input (a struct inside a record: a 5th level; NaN) throws {@link
 * WeftException}; what weftd refuses (a bad expression, a conflict) is counted in {@link
 * Stats#rejected()} and logged at FINE.
 */
public final class StatsNamespace {
  private final Stats stats;
  private final String name;
  private final ConcurrentHashMap<String, StatsCell> topCells = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<StatsPath, StatsCell> recordCells = new ConcurrentHashMap<>();
  private final java.util.concurrent.ConcurrentLinkedQueue<StatsCell> dirty =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  private volatile boolean enabled = true;

  StatsNamespace(Stats stats, String name) {
    this.stats = stats;
    this.name = name;
  }

  /** The namespace's name. */
  public String name() {
    return name;
  }

  /** False while weftd has this namespace switched off: calls then record nothing. */
  public boolean enabled() {
    return enabled;
  }

  void enabled(boolean on) {
    this.enabled = on;
  }

  Stats stats() {
    return stats;
  }

  /** A handle on the number {@code key} (created as 0): the cheapest way to count. */
  public Counter counter(String key) {
    return cell(key);
  }

  /** A handle on the number {@code key} of record {@code recordKey} of the map collection {@code collection}. */
  public Counter counter(String collection, String recordKey, String key) {
    return cell(path(key, collection, recordKey));
  }

  /** Adds {@code delta} to the number {@code key} (absent counts as 0). */
  public void add(String key, double delta) {
    if (enabled) {
      cell(key).add(delta);
    }
  }

  /** Adds 1 to the number {@code key}. */
  public void increment(String key) {
    add(key, 1);
  }

  /** Adds {@code delta} to the number {@code key} of a record of a map collection. */
  public void add(String collection, String recordKey, String key, double delta) {
    if (enabled) {
      cell(path(key, collection, recordKey)).add(delta);
    }
  }

  /** Sets the scalar {@code key}: a number, string, boolean or null. */
  public void set(String key, Object value) {
    if (enabled) {
      cell(key).set(scalar(key, value));
    }
  }

  /** Sets the scalar {@code key} of a record of a map collection. */
  public void set(String collection, String recordKey, String key, Object value) {
    if (enabled) {
      cell(path(key, collection, recordKey)).set(scalar(key, value));
    }
  }

  /** Replaces record {@code recordKey} of the map collection {@code collection} (scalars only). */
  public void put(String collection, String recordKey, Map<String, ?> record) {
    if (enabled) {
      enqueue(op().setPut(PutOp.newBuilder().setCollection(collection).setRecordKey(recordKey)
          .setRecord(record(record))).build());
    }
  }

  /**
   * Appends a record to the list collection {@code collection}, which keeps the last {@code
   * maxLength} (0 = weftd's default, {@code stats.list-max}).
   */
  public void append(String collection, Map<String, ?> record, int maxLength) {
    if (enabled) {
      enqueue(op().setAppend(AppendOp.newBuilder().setCollection(collection).setRecord(record(record))
          .setMaxLen(maxLength)).build());
    }
  }

  /** Removes the entry {@code key} (a scalar, a derived value or a whole collection). */
  public void remove(String key) {
    if (enabled) {
      topCells.remove(key);
      enqueue(op().setRemove(RemoveOp.newBuilder().setPath(path(key, "", ""))).build());
    }
  }

  /** Removes record {@code recordKey} of the map collection {@code collection}. */
  public void removeRecord(String collection, String recordKey) {
    if (enabled) {
      enqueue(op().setRemove(RemoveOp.newBuilder()
          .setPath(StatsPath.newBuilder().setCollection(collection).setRecordKey(recordKey))).build());
    }
  }

  /**
   * Defines {@code key} as an expression evaluated when weftd reports (grammar in the README):
   * e.g. {@code "[Important Events] / uptime()"}, {@code "sum(Table Statistics, Rows)"}.
   */
  public void derive(String key, String expression) {
    derive("", key, expression);
  }

  /** Defines {@code key} of every record of {@code collection} as an expression over that record. */
  public void derive(String collection, String key, String expression) {
    if (enabled) {
      enqueue(op().setDerive(DeriveOp.newBuilder().setCollection(collection).setKey(key)
          .setExpression(Objects.requireNonNull(expression, "expression"))).build());
    }
  }

  /** Wraps {@code fn} so that each call adds 1 to {@code key} (SuPPort's {@code counted}). */
  public <T> Supplier<T> counted(String key, Supplier<T> fn) {
    Counter c = counter(key);
    return () -> {
      c.increment();
      return fn.get();
    };
  }

  /** Wraps {@code fn} so that each call adds 1 to {@code key}. */
  public <A, R> Function<A, R> counted(String key, Function<A, R> fn) {
    Counter c = counter(key);
    return a -> {
      c.increment();
      return fn.apply(a);
    };
  }

  /** Wraps {@code fn} so that each call adds 1 to {@code key}. */
  public Runnable counted(String key, Runnable fn) {
    Counter c = counter(key);
    return () -> {
      c.increment();
      fn.run();
    };
  }

  void dirty(StatsCell cell) {
    dirty.add(cell);
  }

  /**
   * Moves every pending scalar change into {@code out}. The caller holds {@link Stats#order}, as
   * {@link #enqueue} does: so a structural op always follows the scalar changes made before it and
   * precedes those made after it.
   */
  void drainCells(java.util.function.Consumer<StatsOp> out) {
    StatsCell c;
    while ((c = dirty.poll()) != null) {
      c.drainTo(out);
    }
  }

  private void enqueue(StatsOp op) {
    synchronized (stats.order) {
      drainCells(stats::enqueue);
      stats.enqueue(op);
    }
  }

  private StatsCell cell(String key) {
    StatsCell c = topCells.get(key);
    return c != null ? c : topCells.computeIfAbsent(key, k -> new StatsCell(this, path(k, "", "")));
  }

  private StatsCell cell(StatsPath p) {
    StatsCell c = recordCells.get(p);
    return c != null ? c : recordCells.computeIfAbsent(p, k -> new StatsCell(this, k));
  }

  private StatsOp.Builder op() {
    return StatsOp.newBuilder().setNamespace(name);
  }

  private static StatsPath path(String key, String collection, String recordKey) {
    return StatsPath.newBuilder().setKey(Objects.requireNonNull(key, "key")).setCollection(collection)
        .setRecordKey(recordKey).build();
  }

  private static Value scalar(String key, Object value) {
    Value v = Values.toValue(value);
    if (v.hasStructValue() || v.hasListValue()) {
      throw WeftException.invalid(ErrorReason.ERROR_REASON_TOO_DEEP, "'" + key
          + "': a statistic is a scalar; records go into collections with put or append");
    }
    return v;
  }

  private static Struct record(Map<String, ?> record) {
    Struct.Builder b = Struct.newBuilder();
    for (Map.Entry<String, ?> e : record.entrySet()) {
      Value v = Values.toValue(e.getValue());
      if (v.hasStructValue() || v.hasListValue()) {
        throw WeftException.invalid(ErrorReason.ERROR_REASON_TOO_DEEP, "statistics have 4 levels (namespace,"
            + " collection, record, value): '" + e.getKey() + "' would be a 5th");
      }
      b.putFields(e.getKey(), v);
    }
    return b.build();
  }
}
