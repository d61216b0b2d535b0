package io.weft.daemon.testing;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Delivery;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;

/**
 * The real RabbitMQ the bus tests use ({@code WEFT_TEST_AMQP_URL}, default the local node with
 * guest/guest; {@code ./test-all} installs and starts it), and an independent consumer: plain
 * amqp-client code, none of the daemon's.
 */
public final class Rabbit {

    private static final String DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F";

    private Rabbit() {
    }

    /** The broker's URL. */
    public static String url() {
        String u = System.getenv("WEFT_TEST_AMQP_URL");
        return u == null || u.isBlank() ? DEFAULT_URL : u;
    }

    /** A fresh exchange name, so that tests do not see each other's messages. */
    public static String freshExchange() {
        return "weft-test-" + UUID.randomUUID();
    }

    /** A fresh exchange name, deleted (with its {@code .headers} companion) when closed. */
    public static Exchange exchange() {
        return new Exchange(freshExchange());
    }

    /** An exchange a test owns. */
    public record Exchange(String name) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            try (Connection c = connect(); Channel ch = c.createChannel()) {
                ch.exchangeDelete(name);
                ch.exchangeDelete(name + ".headers");
            } catch (TimeoutException e) {
                throw new IOException(e);
            }
        }
    }

    /** Opens a connection, failing with a hint when no broker answers. */
    public static Connection connect() throws IOException {
        ConnectionFactory f = new ConnectionFactory();
        try {
            f.setUri(url());
            f.setAutomaticRecoveryEnabled(false);
            return f.newConnection("weft-test");
        } catch (TimeoutException | java.security.GeneralSecurityException | java.net.URISyntaxException e) {
            throw new IOException("no RabbitMQ at " + url() + " (./test-all starts one): " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IOException("no RabbitMQ at " + url() + " (./test-all starts one): " + e.getMessage(), e);
        }
    }

    /** Stops the broker's AMQP side ({@code rabbitmqctl stop_app}): every connection drops. */
    public static void stopApp() throws IOException, InterruptedException {
        rabbitmqctl("stop_app");
    }

    /** Starts it again ({@code rabbitmqctl start_app}); durable queues and persistent messages are back. */
    public static void startApp() throws IOException, InterruptedException {
        rabbitmqctl("start_app");
        rabbitmqctl("await_startup");
    }

    private static void rabbitmqctl(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("rabbitmqctl", "-q", command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("rabbitmqctl " + command + " failed: " + out);
        }
    }

    /**
     * Declares a durable queue bound to {@code exchange} (declared too, as weftd declares it) and
     * collects every message from it, until {@link Tap#close}, which deletes queue and exchange.
     */
    public static Tap tap(String exchange, String... patterns) throws IOException {
        Tap t = new Tap(exchange, patterns);
        t.reconnect();
        return t;
    }

    /** One received message. */
    public record Message(String routingKey, AMQP.BasicProperties properties, byte[] body) {
        /** The body as UTF-8 text. */
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** A header as text, or null. */
        public String header(String name) {
            Map<String, Object> h = properties.getHeaders();
            Object v = h == null ? null : h.get(name);
            return v == null ? null : v.toString();
        }
    }

    /** A consumer of one durable queue. */
    public static final class Tap implements AutoCloseable {
        private final String exchange;
        private final String[] patterns;
        private final String queue = "weft-test-tap-" + UUID.randomUUID();
        private final List<Message> messages = new CopyOnWriteArrayList<>();
        private Connection connection;
        private volatile boolean cancelledByBroker;

        private Tap(String exchange, String[] patterns) {
            this.exchange = exchange;
            this.patterns = patterns.length == 0 ? new String[] {"#"} : patterns;
        }

        /** (Re)connects and consumes; after {@link #startApp()} the queue is still there with its messages. */
        public synchronized void reconnect() throws IOException {
            if (connection != null && connection.isOpen()) {
                connection.abort();
            }
            connection = connect();
            Channel ch = connection.createChannel();
            ch.exchangeDeclare(exchange, "topic", true);
            ch.queueDeclare(queue, true, false, false, null);
            for (String p : patterns) {
                ch.queueBind(queue, exchange, p);
            }
            cancelledByBroker = false;
            ch.basicConsume(queue, true, (tag, d) -> messages.add(message(d)), tag -> cancelledByBroker = true);
        }

        /** For a failure message: how many messages wait in the queue, and whether the consumer still consumes. */
        public synchronized String state() {
            try (Channel ch = connection.createChannel()) {
                return "tap: " + ch.queueDeclarePassive(queue).getMessageCount() + " messages waiting, consumer "
                        + (cancelledByBroker ? "cancelled by the broker" : "consuming");
            } catch (IOException | TimeoutException | RuntimeException e) {
                return "tap: state unknown (" + e + ")";
            }
        }

        private static Message message(Delivery d) {
            return new Message(d.getEnvelope().getRoutingKey(), d.getProperties(), d.getBody());
        }

        /** Everything received so far, in arrival order. */
        public List<Message> messages() {
            return new ArrayList<>(messages);
        }

        /** Waits until at least {@code n} messages arrived. */
        public List<Message> await(int n, Duration timeout) {
            Poll.until(timeout, () -> messages.size() >= n, () -> "expected " + n + " messages, got " + messages.size());
            return messages();
        }

        @Override
        public synchronized void close() throws IOException {
            if (connection != null && connection.isOpen()) {
                connection.abort();
            }
            try (Connection c = connect(); Channel ch = c.createChannel()) {
                ch.queueDelete(queue);
                ch.exchangeDelete(exchange);
            } catch (TimeoutException e) {
                throw new IOException(e);
            }
        }
    }
}
