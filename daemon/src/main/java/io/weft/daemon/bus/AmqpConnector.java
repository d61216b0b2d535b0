package io.weft.daemon.bus;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * Opens connections to the bus, trying the configured nodes in turn and backing off between
 * failed attempts (100 ms, doubling, up to a maximum). Recovery is ours, not amqp-client's: a
 * lost connection is replaced by a new one and what was unconfirmed is sent again.
 */
final class AmqpConnector {

    private static final long FIRST_BACKOFF_NS = 100_000_000L;
    private static final int CONNECT_TIMEOUT_MS = 2_000;
    private static final int HANDSHAKE_TIMEOUT_MS = 5_000;
    /** Seconds; a broker that stops answering is detected within two of these. */
    private static final int HEARTBEAT_S = 5;

    private final List<URI> urls;
    private final String connectionName;
    private final long maxBackoffNs;
    private int next;
    private long backoffNs;
    private int failures;

    AmqpConnector(List<URI> urls, String connectionName, Duration maxBackoff) {
        this.urls = List.copyOf(urls);
        this.connectionName = connectionName;
        this.maxBackoffNs = maxBackoff.toNanos();
    }

    /**
     * Connects to the next node.
     *
     * @throws IOException when it cannot; {@link #backoffNs()} then says how long to wait
     */
    Connection connect() throws IOException {
        URI url = urls.get(next);
        next = (next + 1) % urls.size();
        try {
            ConnectionFactory f = new ConnectionFactory();
            f.setUri(url);
            f.setAutomaticRecoveryEnabled(false);
            f.setTopologyRecoveryEnabled(false);
            f.setConnectionTimeout(CONNECT_TIMEOUT_MS);
            f.setHandshakeTimeout(HANDSHAKE_TIMEOUT_MS);
            f.setRequestedHeartbeat(HEARTBEAT_S);
            Connection c = f.newConnection(connectionName);
            failures = 0;
            backoffNs = 0;
            return c;
        } catch (IOException | TimeoutException | RuntimeException | java.security.GeneralSecurityException e) {
            failures++;
            backoffNs = backoffNs == 0 ? FIRST_BACKOFF_NS : Math.min(maxBackoffNs, backoffNs * 2);
            throw new IOException(redacted(url) + ": " + e.getMessage(), e);
        }
    }

    /** How long to wait before the next attempt, after a failure. */
    long backoffNs() {
        return backoffNs;
    }

    /** Failed attempts since the last success. */
    int failures() {
        return failures;
    }

    /** A URL with its password hidden, for logs. */
    static String redacted(URI url) {
        String info = url.getRawUserInfo();
        if (info == null || !info.contains(":")) {
            return url.toString();
        }
        return url.toString().replace(info, info.substring(0, info.indexOf(':')) + ":***");
    }
}
