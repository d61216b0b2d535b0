package io.weft.sdk;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.EventKind;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * A context object: an object whose fields change over its lifetime, published to weftd as
 * deltas (born → updated → logged → finished), in the manner of Contexture.
 *
 * <pre>{@code
 * try (Context ctx = weft.context("app.request").field("url", url).open()) { // BORN
 *   ctx.set("status", 200);                                   // one UPDATE
 *   ctx.update(Map.of("bytes", 512, "cached", false));        // one UPDATE with both
 *   ctx.log(Level.INFO, "served {url} with {status}");        // LOG, rendered here
 *   ctx.delete("cached");                                     // DELETE
 * }                                                           // FINISHED (weftd computes elapsed)
 * }</pre>
 *
 * <p>Every operation builds one event and hands it to the client's buffer: it never blocks
 * and never throws because weftd is absent or slow. It throws {@link WeftException} only for
 * bad input (a value that is not JSON), and then sends nothing.
 *
 * <p>Ignored names ({@link Builder#ignore}) never leave the SDK: they are not sent, not
 * deleted and not rendered in log messages. A {@code Context} used as a field value is
 * sent as its id, which links the two objects.
 *
 * <p>Operations after {@link #close()} do nothing. A context is not thread-safe: use it from
 * one thread at a time (its per-object {@code seq} must reach weftd in order).
 */
public final class Context implements AutoCloseable {
  static final int MAX_ID_BYTES = 128;
  /** weftd's limits on a header (EventLimits): name 1 to 255 bytes, value at most 4,096. */
  static final int MAX_HEADER_NAME_BYTES = 255;
  static final int MAX_HEADER_VALUE_BYTES = 4096;

  private final EventSink sink;
  private final String id;
  private final String routingKey;
  private final Map<String, String> headers;
  private final Set<String> ignore;
  /** The fields as sent (ignored names excluded): what log templates render from. */
  private final Map<String, Value> fields = new HashMap<>();
  private long seq;
  private boolean closed;

  private Context(
      EventSink sink,
      String id,
      String routingKey,
      Map<String, String> headers,
      Set<String> ignore) {
    this.sink = sink;
    this.id = id;
    this.routingKey = routingKey;
    this.headers = headers;
    this.ignore = ignore;
  }

  /** This object's id: a random UUID, or the {@link Builder#guid guid} given. */
  public String id() {
    return id;
  }

  /** The routing key every event of this object carries. */
  public String routingKey() {
    return routingKey;
  }

  /** The headers sent at birth. */
  public Map<String, String> headers() {
    return headers;
  }

  /** True once {@link #close()} sent FINISHED: later operations do nothing. */
  public boolean isClosed() {
    return closed;
  }

  /** Sets one field: one UPDATE event. An ignored name sends nothing. */
  public Context set(String name, Object value) {
    if (closed || ignore.contains(name)) {
      return this;
    }
    Value v = Values.toValue(value);
    fields.put(name, v);
    sink.publish(
        () ->
            event(EventKind.EVENT_KIND_UPDATE)
                .setFields(Struct.newBuilder().putFields(name, v))
                .build());
    return this;
  }

  /** Sets several fields in one UPDATE event (ignored names are left out; none left: nothing). */
  public Context update(Map<String, ?> values) {
    if (closed) {
      return this;
    }
    Struct changed = convert(values, ignore);
    if (changed.getFieldsCount() > 0) {
      fields.putAll(changed.getFieldsMap());
      sink.publish(() -> event(EventKind.EVENT_KIND_UPDATE).setFields(changed).build());
    }
    return this;
  }

  /**
   * Logs a message rendered with this context's fields: one LOG event.
   *
   * @param template text where {@code {name}} is replaced by the field's value; names that
   *     are not fields stay as written; doubled braces are literal braces
   */
  public Context log(Level level, String template) {
    return log(level, template, Map.of());
  }

  /**
   * Logs a message, also setting {@code values} as fields (Contexture's keyword arguments):
   * they are merged first, so the template can use them, and travel in the same LOG event.
   */
  public Context log(Level level, String template, Map<String, ?> values) {
    Objects.requireNonNull(level, "level");
    Objects.requireNonNull(template, "template");
    if (closed) {
      return this;
    }
    Struct changed = convert(values, ignore);
    fields.putAll(changed.getFieldsMap());
    sink.publish(
        () -> event(EventKind.EVENT_KIND_LOG)
            .setFields(changed)
            .setLevel(level.wire())
            .setMessage(Template.render(template, fields))
            .build());
    return this;
  }

  /** Removes fields: one DELETE event naming them (ignored names are left out). */
  public Context delete(String... names) {
    if (closed) {
      return this;
    }
    List<String> deleted = Arrays.stream(names).filter(n -> !ignore.contains(n)).toList();
    if (!deleted.isEmpty()) {
      deleted.forEach(fields::remove);
      sink.publish(() -> event(EventKind.EVENT_KIND_DELETE).addAllDeleted(deleted).build());
    }
    return this;
  }

  /** Finishes the object: one FINISHED event (weftd computes the elapsed time). Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      sink.publish(() -> event(EventKind.EVENT_KIND_FINISHED).build());
      closed = true;
    }
  }

  /** The routing key and id, e.g. {@code app.request[1234]}. */
  @Override
  public String toString() {
    return routingKey + "[" + id + "]";
  }

  private static Struct convert(Map<String, ?> values, Set<String> ignore) {
    Struct.Builder struct = Struct.newBuilder();
    for (Map.Entry<String, ?> e : values.entrySet()) {
      if (!ignore.contains(e.getKey())) {
        struct.putFields(e.getKey(), Values.toValue(e.getValue()));
      }
    }
    return struct.build();
  }

  /** weftd's rule for object (and client) ids: 1 to 128 bytes, no control characters. */
  static boolean isValidId(String id) {
    return id != null && !id.isEmpty() && utf8Length(id) <= MAX_ID_BYTES && !hasControl(id);
  }

  private static int utf8Length(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  private static boolean hasControl(String s) {
    return s.chars().anyMatch(Character::isISOControl);
  }

  private ContextEvent.Builder event(EventKind kind) {
    return newEvent(id, routingKey, kind, ++seq);
  }

  private static ContextEvent.Builder newEvent(
      String id, String routingKey, EventKind kind, long seq) {
    Instant now = Instant.now();
    return ContextEvent.newBuilder()
        .setId(id)
        .setRoutingKey(routingKey)
        .setKind(kind)
        .setSeq(seq)
        .setTimeUnixNanos(now.getEpochSecond() * 1_000_000_000L + now.getNano());
  }

  /**
   * Describes a context before it is born: its initial fields, headers, id and ignored
   * names. Obtain one from {@link Weft#context(String)}; finish with {@link #open()} or
   * {@link #publishTransient()}.
   */
  public static final class Builder {
    private final EventSink sink;
    private final String routingKey;
    private final Map<String, Object> fields = new LinkedHashMap<>();
    private final Map<String, String> headers = new LinkedHashMap<>();
    private final Set<String> ignore = new HashSet<>();
    private String guid;

    Builder(EventSink sink, String routingKey) {
      this.sink = sink;
      this.routingKey = RoutingKeys.validate(routingKey);
    }

    /** An initial field, sent with the birth. */
    public Builder field(String name, Object value) {
      fields.put(Objects.requireNonNull(name, "name"), value);
      return this;
    }

    /** Initial fields (Contexture's {@code context=}), sent with the birth. */
    public Builder fields(Map<String, ?> values) {
      values.forEach(this::field);
      return this;
    }

    /**
     * A header, for routing by header match; sent with the birth. The name must be 1 to
     * {@value Context#MAX_HEADER_NAME_BYTES} bytes and the value at most
     * {@value Context#MAX_HEADER_VALUE_BYTES} bytes, neither with control characters (else
     * {@link WeftException} INVALID_HEADER, as weftd would refuse the birth).
     */
    public Builder header(String name, String value) {
      headers.put(validateHeader(name, value), Objects.requireNonNull(value, "value"));
      return this;
    }

    /** Several headers, as {@link #header(String, String)}. */
    public Builder headers(Map<String, String> values) {
      values.forEach(this::header);
      return this;
    }

    /**
     * The object's own id instead of a random UUID: 1 to {@value Context#MAX_ID_BYTES}
     * bytes, no control characters (else {@link WeftException} INVALID_ID).
     */
    public Builder guid(String id) {
      this.guid = validateId(id);
      return this;
    }

    /** Field names that never leave the SDK (passwords, secrets, bulky internals). */
    public Builder ignore(String... names) {
      return ignore(Arrays.asList(names));
    }

    /** Field names that never leave the SDK, as {@link #ignore(String...)}. */
    public Builder ignore(Collection<String> names) {
      ignore.addAll(names);
      return this;
    }

    /** Creates the context and sends its BORN event with the initial fields and headers. */
    public Context open() {
      Context ctx = new Context(sink, id(), routingKey, Map.copyOf(headers), Set.copyOf(ignore));
      Struct initial = convert(fields, ctx.ignore);
      ctx.fields.putAll(initial.getFieldsMap());
      sink.publish(
          () ->
              ctx.event(EventKind.EVENT_KIND_BORN)
                  .setFields(initial)
                  .putAllHeaders(ctx.headers)
                  .build());
      return ctx;
    }

    /**
     * Publishes the whole object at once, born and finished (Contexture's
     * {@code transient=True}): one TRANSIENT event.
     *
     * @return the object's id
     */
    public String publishTransient() {
      String id = id();
      Struct initial = convert(fields, ignore);
      sink.publish(
          () -> newEvent(id, routingKey, EventKind.EVENT_KIND_TRANSIENT, 1)
              .setFields(initial)
              .putAllHeaders(headers)
              .build());
      return id;
    }

    private String id() {
      return guid != null ? guid : UUID.randomUUID().toString();
    }

    private static String validateHeader(String name, String value) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
      if (name.isEmpty() || utf8Length(name) > MAX_HEADER_NAME_BYTES || hasControl(name)) {
        throw WeftException.invalid(
            ErrorReason.ERROR_REASON_INVALID_HEADER,
            "header name must be 1 to " + MAX_HEADER_NAME_BYTES
                + " bytes without control characters: '" + name + "'");
      }
      if (utf8Length(value) > MAX_HEADER_VALUE_BYTES || hasControl(value)) {
        throw WeftException.invalid(
            ErrorReason.ERROR_REASON_INVALID_HEADER,
            "header '" + name + "': the value must be at most " + MAX_HEADER_VALUE_BYTES
                + " bytes without control characters");
      }
      return name;
    }

    private static String validateId(String id) {
      if (!isValidId(id)) {
        throw WeftException.invalid(
            ErrorReason.ERROR_REASON_INVALID_ID,
            "object id must be 1 to " + MAX_ID_BYTES + " bytes without control characters: '"
                + id + "'");
      }
      return id;
    }
  }
}
