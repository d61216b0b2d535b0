package io.weft.daemon.bus;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonWriter;
import com.google.protobuf.Struct;
import com.rabbitmq.client.AMQP;
import io.weft.api.v1.BusEvent;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.ObjectState;
import io.weft.daemon.json.StructJson;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@code contexture} wire format (DESIGN §6): one JSON message per event, with the body
 * fields, properties and headers Contexture's consumers read.
 *
 * <p>Body, in this order, fields absent when they do not apply: {@code obj_id}; {@code status}
 * ({@code born}, {@code finished} or {@code transient}); {@code obj} (the changed fields; for a
 * delete, each deleted key with {@code null}); {@code action} ({@code delete}); {@code message}
 * (a LOG's text); {@code elapsed} (seconds, on finish); {@code time_in} (the event's time),
 * {@code time_out} (publish time) and {@code qtime} ({@code time_out - time_in}), in epoch
 * seconds; {@code qlen} (events waiting in the publisher when this one left); {@code handler_id}
 * (this weftd instance); {@code seq}; {@code host} (the daemon id).
 *
 * <p>Properties: {@code content_type=application/json}, {@code message_id=<obj_id>:<seq>},
 * {@code timestamp} (publish time), {@code app_id=weftd}, {@code delivery_mode=2} (persistent: a durable
 * queue keeps them over a broker restart); headers: {@code hostname} (the daemon id) plus the object's headers.
 */
public final class ContextureFormat {

    static final String CONTENT_TYPE = "application/json";
    static final String APP_ID = "weftd";
    static final String HOSTNAME_HEADER = "hostname";
    static final int PERSISTENT = 2;
    private static final double NANOS_PER_SECOND = 1e9;

    private ContextureFormat() {
    }

    static Outgoing encode(BusEvent be, String host, String handlerId, long timeOutUnixNanos, long qlen) {
        ContextEvent e = be.getEvent();
        Map<String, Object> headers = new HashMap<>(e.getHeadersCount() + 1);
        headers.putAll(e.getHeadersMap());
        headers.put(HOSTNAME_HEADER, host);
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                .contentType(CONTENT_TYPE)
                .messageId(e.getId() + ":" + e.getSeq())
                .timestamp(new Date(timeOutUnixNanos / 1_000_000L))
                .appId(APP_ID)
                .deliveryMode(PERSISTENT)
                .headers(headers)
                .build();
        return new Outgoing(e.getRoutingKey(), props, body(be, host, handlerId, timeOutUnixNanos, qlen), 1);
    }

    private static byte[] body(BusEvent be, String host, String handlerId, long timeOutUnixNanos, long qlen) {
        ContextEvent e = be.getEvent();
        StringWriter out = new StringWriter(128 + e.getFields().getSerializedSize() * 2);
        try (JsonWriter w = new JsonWriter(out)) {
            w.beginObject();
            w.name("obj_id").value(e.getId());
            String status = status(e.getKind());
            if (status != null) {
                w.name("status").value(status);
            }
            w.name("obj");
            if (e.getKind() == EventKind.EVENT_KIND_DELETE) {
                w.beginObject();
                for (String k : e.getDeletedList()) {
                    w.name(k).nullValue();
                }
                w.endObject();
                w.name("action").value("delete");
            } else {
                StructJson.write(w, e.getFields());
            }
            if (e.getKind() == EventKind.EVENT_KIND_LOG) {
                w.name("message").value(e.getMessage());
            }
            if (be.getEndState() == ObjectState.OBJECT_STATE_FINISHED) {
                w.name("elapsed").value(be.getElapsedSeconds());
            }
            w.name("time_in").jsonValue(seconds(e.getTimeUnixNanos()));
            w.name("time_out").jsonValue(seconds(timeOutUnixNanos));
            w.name("qtime").value(Math.max(0, timeOutUnixNanos - e.getTimeUnixNanos()) / NANOS_PER_SECOND);
            w.name("qlen").value(qlen);
            w.name("handler_id").value(handlerId);
            w.name("seq").value(e.getSeq());
            w.name("host").value(host);
            w.endObject();
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String status(EventKind kind) {
        return switch (kind) {
            case EVENT_KIND_BORN -> "born";
            case EVENT_KIND_FINISHED -> "finished";
            case EVENT_KIND_TRANSIENT -> "transient";
            default -> null;
        };
    }

    /** Epoch seconds with nine decimals: exactly the nanoseconds, never in exponent form. */
    private static String seconds(long unixNanos) {
        return BigDecimal.valueOf(unixNanos, 9).toPlainString();
    }

    /**
     * Reads a message of this format back into an event (for the bus monitor).
     *
     * @param routingKey the delivery's routing key
     * @param headers the message's headers (the object's, plus {@code hostname})
     * @param body the JSON body
     * @return the event; its headers are the message's headers
     * @throws BadMessageException when the body is not a message of this format
     */
    public static BusEvent decode(String routingKey, Map<String, String> headers, byte[] body) throws BadMessageException {
        JsonObject o;
        try {
            JsonElement parsed = JsonParser.parseString(new String(body, StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw new BadMessageException("body is not a JSON object");
            }
            o = parsed.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new BadMessageException("body is not JSON: " + e.getMessage());
        }
        if (!o.has("obj_id") || !o.get("obj_id").isJsonPrimitive()) {
            throw new BadMessageException("no obj_id");
        }
        Struct obj = o.has("obj") && o.get("obj").isJsonObject() ? StructJson.toStruct(o.getAsJsonObject("obj"))
                : Struct.getDefaultInstance();
        ContextEvent.Builder e = ContextEvent.newBuilder()
                .setId(o.get("obj_id").getAsString())
                .setRoutingKey(routingKey)
                .putAllHeaders(headers);
        String status = text(o, "status");
        BusEvent.Builder be = BusEvent.newBuilder();
        if ("delete".equals(text(o, "action"))) {
            e.setKind(EventKind.EVENT_KIND_DELETE).addAllDeleted(obj.getFieldsMap().keySet());
        } else {
            e.setFields(obj);
            if ("born".equals(status)) {
                e.setKind(EventKind.EVENT_KIND_BORN);
            } else if ("finished".equals(status)) {
                e.setKind(EventKind.EVENT_KIND_FINISHED);
                be.setEndState(ObjectState.OBJECT_STATE_FINISHED);
            } else if ("transient".equals(status)) {
                e.setKind(EventKind.EVENT_KIND_TRANSIENT);
                be.setEndState(ObjectState.OBJECT_STATE_TRANSIENT);
            } else if (o.has("message")) {
                e.setKind(EventKind.EVENT_KIND_LOG).setMessage(text(o, "message"));
            } else {
                e.setKind(EventKind.EVENT_KIND_UPDATE);
            }
        }
        try {
            if (o.has("seq")) {
                e.setSeq(o.get("seq").getAsLong());
            }
            if (o.has("time_in")) {
                e.setTimeUnixNanos(o.get("time_in").getAsBigDecimal().movePointRight(9).longValue());
            }
            if (o.has("elapsed")) {
                be.setElapsedSeconds(o.get("elapsed").getAsDouble());
            }
        } catch (RuntimeException bad) {
            throw new BadMessageException("seq, time_in or elapsed is not a number");
        }
        return be.setEvent(e).build();
    }

    private static String text(JsonObject o, String key) {
        JsonElement v = o.get(key);
        return v == null || v.isJsonNull() ? null : v.getAsString();
    }

    /** A message that is not of the expected format; the monitor counts and skips it. */
    public static final class BadMessageException extends Exception {
        BadMessageException(String message) {
            super(message);
        }
    }
}
