package io.weft.daemon.bus;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Delivery;
import io.weft.api.v1.HeaderMatch;
import io.weft.api.v1.ObjectFilter;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The queues a bus monitor consumes from (DESIGN §6), shared by the daemon's {@link BusMonitor} and
 * {@code weft mon -H/-u}: each is server-named, exclusive, auto-delete, with {@code x-message-ttl}
 * 60 s and an {@code x-max-length}, bound to a filter's routing-key patterns or, for header
 * arguments, to a headers exchange ({@code <exchange>.headers}, fed by the topic exchange with
 * {@code #}) with {@code x-match} all or any.
 *
 * <p>What RabbitMQ drops from such a queue (the oldest beyond {@code x-max-length}, or older than
 * the TTL) is not lost silently: the queue dead-letters it, through the default exchange, into a
 * dead-letter queue of the same connection, whose consumer only counts it ({@link #dropped}). That
 * queue is bounded too ({@code x-max-length}); a monitor stalled for so long that it overflows loses
 * the count of the overflow, and nothing else.
 */
public final class MonitorQueues {

    /** How long a message waits in a monitor queue: a monitor watches the present. */
    static final int MESSAGE_TTL_MS = 60_000;

    private static final String X_DEATH = "x-death";

    private MonitorQueues() {
    }

    /** Why RabbitMQ dropped a message from a monitor queue, as {@code QueueInfo} drop causes name it. */
    public enum Reason {
        /** The queue held {@code x-max-length} messages: the oldest went. */
        MAX_LENGTH("bus_max_length"),
        /** The message waited longer than the queue's TTL. */
        EXPIRED("bus_expired"),
        /** Any other dead-lettering (none is expected of an auto-acknowledged queue). */
        OTHER("bus_other");

        private final String cause;

        Reason(String cause) {
            this.cause = cause;
        }

        /** The drop cause's name in {@code QueueInfo.drops}. */
        public String cause() {
            return cause;
        }

        static Reason of(Object xDeathReason) {
            String r = String.valueOf(xDeathReason);
            return switch (r) {
                case "maxlen" -> MAX_LENGTH;
                case "expired" -> EXPIRED;
                default -> OTHER;
            };
        }
    }

    /**
     * What one dead-lettered message tells.
     *
     * @param queue the monitor queue it was dropped from, or null when the message says not
     * @param reason why
     * @param events the events it carried (a {@code batch} message carries many)
     */
    public record Dropped(String queue, Reason reason, int events) {
    }

    /**
     * Declares a connection's dead-letter queue: server-named, exclusive, auto-delete.
     *
     * @param maxLength messages it holds while waiting to be counted
     * @return its name, for {@link #declare}
     */
    public static String declareDeadLetters(Channel ch, int maxLength) throws IOException {
        return ch.queueDeclare("", false, true, true, Map.of("x-max-length", maxLength)).getQueue();
    }

    /**
     * Declares a monitor queue bound as {@code filter} asks (every key when it names none).
     *
     * @param deadLetters the queue RabbitMQ's drops from it go to ({@link #declareDeadLetters})
     * @return its name
     */
    public static String declare(Channel ch, String exchange, ObjectFilter filter, int maxLength, String deadLetters)
            throws IOException {
        ch.exchangeDeclare(exchange, "topic", true);
        String queue = ch.queueDeclare("", false, true, true, Map.of(
                "x-message-ttl", MESSAGE_TTL_MS,
                "x-max-length", maxLength,
                "x-dead-letter-exchange", "",
                "x-dead-letter-routing-key", deadLetters)).getQueue();
        if (filter.getHeadersCount() > 0) {
            String headersExchange = exchange + ".headers";
            ch.exchangeDeclare(headersExchange, "headers", true);
            ch.exchangeBind(headersExchange, exchange, "#");
            Map<String, Object> binding = new HashMap<>(filter.getHeadersMap());
            binding.put("x-match", filter.getHeaderMatch() == HeaderMatch.HEADER_MATCH_ANY ? "any" : "all");
            ch.queueBind(queue, headersExchange, "", binding);
        } else {
            for (String p : filter.getRoutingKeysCount() == 0 ? List.of("#") : filter.getRoutingKeysList()) {
                ch.queueBind(queue, exchange, p);
            }
        }
        return queue;
    }

    /**
     * Reads a message from a dead-letter queue: the newest {@code x-death} entry names the queue and
     * the reason; a {@code batch} body is parsed for its event count (only here, where drops happen).
     */
    public static Dropped dropped(Delivery d) {
        Map<String, Object> headers = d.getProperties().getHeaders();
        String queue = null;
        Reason reason = Reason.OTHER;
        if (headers != null && headers.get(X_DEATH) instanceof List<?> deaths && !deaths.isEmpty()
                && deaths.get(0) instanceof Map<?, ?> newest) {
            queue = newest.get("queue") == null ? null : newest.get("queue").toString();
            reason = Reason.of(newest.get("reason"));
        }
        int events = 1;
        if (BatchFormat.CONTENT_TYPE.equals(d.getProperties().getContentType())) {
            try {
                events = Math.max(1, BatchFormat.decode(d.getBody()).getEventsCount());
            } catch (ContextureFormat.BadMessageException e) {
                events = 1; // unreadable: it would have been one bad message
            }
        }
        return new Dropped(queue, reason, events);
    }
}
