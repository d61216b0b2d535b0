package io.weft.daemon.bus;

import com.google.protobuf.InvalidProtocolBufferException;
import com.rabbitmq.client.AMQP;
import io.weft.api.v1.BusBatch;
import io.weft.api.v1.BusEvent;
import io.weft.api.v1.ContextEvent;
import java.util.Date;
import java.util.List;
import java.util.Map;

/**
 * The {@code batch} wire format: events of one routing key in one message, a serialized
 * {@code weft.v1.BusBatch} (see {@code proto/weft/v1/bus.proto}). Properties:
 * {@code content_type=application/x-protobuf}, {@code type=weft.v1.BusBatch},
 * {@code message_id=<first obj_id>:<its seq>}, {@code timestamp}, {@code app_id=weftd},
 * {@code delivery_mode=2}; headers:
 * {@code hostname}. Consumers de-duplicate redeliveries per event, by id and seq.
 */
final class BatchFormat {

    static final String CONTENT_TYPE = "application/x-protobuf";
    static final String TYPE = "weft.v1.BusBatch";

    private BatchFormat() {
    }

    static Outgoing encode(List<BusEvent> events, String host, String handlerId, long timeOutUnixNanos) {
        ContextEvent first = events.get(0).getEvent();
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                .contentType(CONTENT_TYPE)
                .type(TYPE)
                .messageId(first.getId() + ":" + first.getSeq())
                .timestamp(new Date(timeOutUnixNanos / 1_000_000L))
                .appId(ContextureFormat.APP_ID)
                .deliveryMode(ContextureFormat.PERSISTENT)
                .headers(Map.of(ContextureFormat.HOSTNAME_HEADER, host))
                .build();
        byte[] body = BusBatch.newBuilder()
                .setHost(host)
                .setHandlerId(handlerId)
                .setTimeOutUnixNanos(timeOutUnixNanos)
                .addAllEvents(events)
                .build()
                .toByteArray();
        return new Outgoing(first.getRoutingKey(), props, body, events.size());
    }

    static BusBatch decode(byte[] body) throws ContextureFormat.BadMessageException {
        try {
            return BusBatch.parseFrom(body);
        } catch (InvalidProtocolBufferException e) {
            throw new ContextureFormat.BadMessageException("not a weft.v1.BusBatch: " + e.getMessage());
        }
    }
}
