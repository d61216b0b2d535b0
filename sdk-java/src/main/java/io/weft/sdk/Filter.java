package io.weft.sdk;

import io.weft.api.v1.HeaderMatch;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.Projection;
import io.weft.api.v1.Source;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a monitor, a listing or a lookup selects and how it reshapes what it returns — the
 * options of {@code weft mon} (Contexture's {@code lcmon}).
 *
 * <pre>{@code
 * Filter f = Filter.builder()
 *     .routingKeys("app.#")                // -r: AMQP topic patterns (* one word, # zero or more)
 *     .header("env", "prod").matchAny()    // -a env=prod -x any
 *     .keys("url", "*elapsed")             // -k: first match breadth-first; *key = all matches
 *     .trim("password")                    // -t
 *     .dropEmpty()                         // -z
 *     .includeLive()                       // objects(): live snapshots too
 *     .build();
 * }</pre>
 *
 * <p>Immutable; {@link #all()} selects everything unchanged.
 */
public final class Filter {
  private static final Filter ALL = builder().build();

  private final ObjectFilter objectFilter;
  private final Projection projection;
  private final boolean includeLive;
  private final Source source;
  private final int bufferSize;
  private final int pageSize;

  private Filter(Builder b) {
    this.objectFilter =
        ObjectFilter.newBuilder()
            .addAllRoutingKeys(b.routingKeys)
            .putAllHeaders(b.headers)
            .setHeaderMatch(b.headerMatch)
            .addAllStates(b.states)
            .build();
    this.projection =
        Projection.newBuilder().addAllKeys(b.keys).addAllTrim(b.trim).setDropEmpty(b.dropEmpty).build();
    this.includeLive = b.includeLive;
    this.source = b.source;
    this.bufferSize = b.bufferSize;
    this.pageSize = b.pageSize;
  }

  /** Everything, unchanged, from this daemon. */
  public static Filter all() {
    return ALL;
  }

  /** A builder whose options all default to "everything, unchanged, from this daemon". */
  public static Builder builder() {
    return new Builder();
  }

  ObjectFilter objectFilter() {
    return objectFilter;
  }

  Projection projection() {
    return projection;
  }

  boolean includeLive() {
    return includeLive;
  }

  Source source() {
    return source;
  }

  /** Watch buffer size; 0 = the daemon's default. */
  int bufferSize() {
    return bufferSize;
  }

  /** ListObjects page size; 0 = the daemon's default. */
  int pageSize() {
    return pageSize;
  }

  @Override
  public String toString() {
    return "Filter{" + objectFilter.toString().replace('\n', ' ').trim() + " | "
        + projection.toString().replace('\n', ' ').trim() + (includeLive ? " | live" : "")
        + " | " + source + "}";
  }

  /** Builds a {@link Filter}; every option defaults to "everything, unchanged". */
  public static final class Builder {
    private final List<String> routingKeys = new ArrayList<>();
    private final Map<String, String> headers = new LinkedHashMap<>();
    private HeaderMatch headerMatch = HeaderMatch.HEADER_MATCH_ALL;
    private final List<ObjectState> states = new ArrayList<>();
    private final List<String> keys = new ArrayList<>();
    private final List<String> trim = new ArrayList<>();
    private boolean dropEmpty;
    private boolean includeLive;
    private Source source = Source.SOURCE_LOCAL;
    private int bufferSize;
    private int pageSize;

    private Builder() {}

    /** Routing-key patterns; a key matches when any does ({@code *} one word, {@code #} any). */
    public Builder routingKeys(String... patterns) {
      routingKeys.addAll(Arrays.asList(patterns));
      return this;
    }

    /** A header to match; an empty value matches any value of that header. */
    public Builder header(String name, String value) {
      headers.put(name, value);
      return this;
    }

    /** Several headers to match, as {@link #header(String, String)}. */
    public Builder headers(Map<String, String> values) {
      headers.putAll(values);
      return this;
    }

    /** Headers match when any of them does (AMQP {@code x-match: any}); default all. */
    public Builder matchAny() {
      headerMatch = HeaderMatch.HEADER_MATCH_ANY;
      return this;
    }

    /** Only objects in these states ({@link Weft#listObjects} only); default all states. */
    public Builder states(ObjectState... values) {
      states.addAll(Arrays.asList(values));
      return this;
    }

    /** Keys to extract, breadth-first, first match; {@code *name} returns every match. */
    public Builder keys(String... names) {
      keys.addAll(Arrays.asList(names));
      return this;
    }

    /** Keys removed wherever they occur. */
    public Builder trim(String... names) {
      trim.addAll(Arrays.asList(names));
      return this;
    }

    /** Removes null, "", [] and {} values, recursively. */
    public Builder dropEmpty() {
      dropEmpty = true;
      return this;
    }

    /**
     * For {@link Weft#objects}: the matching live objects first, then a snapshot each time
     * one changes, so long-lived objects are visible before they finish.
     */
    public Builder includeLive() {
      includeLive = true;
      return this;
    }

    /** Read the fleet from the bus ({@link Source#SOURCE_BUS}) instead of this daemon. */
    public Builder source(Source value) {
      source = value;
      return this;
    }

    /** Items the daemon buffers for a slow monitor before dropping the oldest. */
    public Builder bufferSize(int items) {
      bufferSize = items;
      return this;
    }

    /** Objects fetched per request by {@link Weft#listObjects}. */
    public Builder pageSize(int objects) {
      pageSize = objects;
      return this;
    }

    /** The immutable filter. */
    public Filter build() {
      return new Filter(this);
    }
  }
}
