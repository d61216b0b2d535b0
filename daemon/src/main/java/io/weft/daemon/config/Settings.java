package io.weft.daemon.config;

import java.io.IOException;
import java.net.URI;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The catalog: every setting weftd has, its default and its meaning. Adding a setting is
 * adding a constant here (and to {@link #ALL}) plus an accessor on {@link WeftConfig}.
 */
public final class Settings {

    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;
    private static final long GIB = 1024 * MIB;

    /** The unix socket. */
    public static final Setting<SocketLocation> SOCKET = Setting.of("socket", ValueTypes.socket(), "auto",
            "unix socket path, \"off\", or \"auto\": /run/weft/weftd.sock when /run/weft is writable,"
                    + " else $XDG_RUNTIME_DIR/weft/weftd.sock when XDG_RUNTIME_DIR is set,"
                    + " else <tmpdir>/weft-<user>/weftd.sock");

    /** The unix socket's permission bits. */
    public static final Setting<Integer> SOCKET_MODE = Setting.of("socket.mode", ValueTypes.fileMode(), "0660",
            "permission bits of the unix socket");

    /** The local TCP listener. */
    public static final Setting<Optional<HostPort>> LISTEN = Setting.of("listen", ValueTypes.hostPortOrOff(),
            "127.0.0.1:7311", "local TCP gRPC listener, host:port (port 0 = any free port) or \"off\"");

    /** This daemon's id. */
    public static final Setting<String> DAEMON_ID = Setting.computed("daemon.id", ValueTypes.daemonId(),
            Settings::hostName, "this daemon's id, stamped on collated objects and used in endpoint@daemon;"
                    + " default: the host name");

    /** The log level. */
    public static final Setting<LogLevel> LOG_LEVEL = Setting.reloadable("log.level", ValueTypes.logLevel(), "info",
            "log level: debug, info, warn or error");

    /** How long SIGTERM waits for sinks to drain. */
    public static final Setting<Duration> DRAIN_GRACE = Setting.of("drain.grace",
            ValueTypes.duration(Duration.ZERO, Duration.ofHours(1)), "5s",
            "on SIGTERM, how long to wait for queued events to reach their sinks before exiting");

    /** Capacity of the inbound command queue, in events and commands. */
    public static final Setting<Integer> INBOUND_CAPACITY = Setting.of("inbound.capacity",
            ValueTypes.integer(1, 1 << 30), "65536",
            "events and other commands the inbound queue holds (a batch counts as its events, or as its encoded"
                    + " size in 512-byte units when that is more, so that large events cannot fill the heap; a stats"
                    + " batch as its ops; rounded up to a power of two); beyond it unary calls fail with QUEUE_FULL"
                    + " and streamed batches are dropped and counted");

    /** How many events and commands one client may have queued. */
    public static final Setting<Integer> INBOUND_CLIENT_QUOTA = Setting.of("inbound.client-quota",
            ValueTypes.integer(1, 1 << 30), "16384",
            "events and other commands one client may have queued at once (weighed as in inbound.capacity):"
                    + " a Publish or Record stream that reaches it reads no further message until the broker has"
                    + " applied half of it (HTTP/2 flow control holds the client back); unary calls beyond it fail"
                    + " with QUEUE_FULL; at most inbound.capacity");

    /** Commands the broker takes from the inbound queue per duty cycle. */
    public static final Setting<Integer> BROKER_INBOUND_DRAIN_LIMIT = Setting.of("broker.inbound-drain-limit",
            ValueTypes.integer(1, 1 << 20), "4096", "commands the broker takes from the inbound queue per duty cycle");

    /** Commands of one client per duty cycle before the next client is served. */
    public static final Setting<Integer> BROKER_CLIENT_DRAIN_LIMIT = Setting.of("broker.client-drain-limit",
            ValueTypes.integer(1, 1 << 20), "64",
            "commands of one client per duty cycle before the next client is served (fairness);"
                    + " at most broker.inbound-drain-limit");

    /** A duty cycle slower than this is logged and counted. */
    public static final Setting<Duration> BROKER_SLOW_CYCLE = Setting.of("broker.slow-cycle",
            ValueTypes.duration(Duration.ofMillis(1), Duration.ofSeconds(10)), "10ms",
            "a broker duty cycle longer than this is logged once and counted");

    /** Live objects kept. */
    public static final Setting<Integer> COLLATOR_LIVE_MAX = Setting.of("collator.live-max",
            ValueTypes.integer(1, 10_000_000), "100000",
            "live objects kept; beyond it the least recently updated one expires");

    /** Idle time after which a live object expires. */
    public static final Setting<Duration> COLLATOR_LIVE_TTL = Setting.of("collator.live-ttl",
            ValueTypes.duration(Duration.ofSeconds(1), Duration.ofDays(365)), "1h",
            "a live object with no event for this long expires");

    /** Finished objects kept for views. */
    public static final Setting<Integer> COLLATOR_FINISHED_MAX = Setting.of("collator.finished-max",
            ValueTypes.integer(1, 10_000_000), "10000", "finished, transient and expired objects kept for views");

    /** Estimated memory of live objects kept. */
    public static final Setting<Long> COLLATOR_LIVE_MAX_BYTES = Setting.of("collator.live-max-bytes",
            ValueTypes.bytes(MIB, 64 * 1024 * MIB), "80MiB",
            "estimated memory of live objects kept (fields' encoded size plus a per-object and per-field"
                    + " overhead); beyond it the least recently updated ones expire");

    /** Estimated memory of finished objects kept. */
    public static final Setting<Long> COLLATOR_FINISHED_MAX_BYTES = Setting.of("collator.finished-max-bytes",
            ValueTypes.bytes(MIB, 64 * 1024 * MIB), "16MiB",
            "estimated memory of finished objects kept for views; beyond it the oldest are evicted");

    /** Largest event accepted. */
    public static final Setting<Long> LIMITS_EVENT_BYTES = Setting.of("limits.event-bytes",
            ValueTypes.bytes(KIB, 256 * MIB), "1MiB", "largest event accepted (EVENT_TOO_LARGE beyond)");

    /** Deepest nesting accepted. */
    public static final Setting<Integer> LIMITS_DEPTH = Setting.of("limits.depth", ValueTypes.integer(1, 1000), "64",
            "deepest nesting of values accepted in an event (TOO_DEEP beyond)");

    /** Most fields per event. */
    public static final Setting<Integer> LIMITS_FIELDS = Setting.of("limits.fields",
            ValueTypes.integer(1, 1_000_000), "1024", "most fields accepted in one event (TOO_MANY_FIELDS beyond)");

    /** Most headers per event. */
    public static final Setting<Integer> LIMITS_HEADERS = Setting.of("limits.headers",
            ValueTypes.integer(1, 10_000), "64", "most headers accepted on one event (TOO_MANY_HEADERS beyond)");

    /** Largest gRPC message accepted. */
    public static final Setting<Long> GRPC_MAX_MESSAGE_BYTES = Setting.of("grpc.max-message-bytes",
            ValueTypes.bytes(KIB, GIB), "8MiB",
            "largest gRPC message accepted; at least limits.event-bytes");

    /** Most watch streams at once. */
    public static final Setting<Integer> WATCH_MAX = Setting.of("watch.max", ValueTypes.integer(1, 65_536), "256",
            "watch streams served at once (TOO_MANY_WATCHERS beyond)");

    /** Default per-watcher buffer. */
    public static final Setting<Integer> WATCH_BUFFER = Setting.of("watch.buffer", ValueTypes.integer(1, 65_536),
            "4096", "items buffered per watcher when the request does not say; the oldest are dropped beyond");

    /** Most flushes waiting at once. */
    public static final Setting<Integer> FLUSH_MAX_PENDING = Setting.of("flush.max-pending",
            ValueTypes.integer(1, 1_000_000), "1024", "flushes waiting at once (TOO_MANY_FLUSHES beyond)");

    /** The JSON-lines file sink. */
    public static final Setting<Optional<Path>> SINK_FILE = Setting.of("sink.file", ValueTypes.pathOrOff(), "off",
            "append every event to this file as JSON lines, or \"off\"");

    /** Queue of the file sink. */
    public static final Setting<Integer> SINK_FILE_CAPACITY = Setting.of("sink.file.capacity",
            ValueTypes.integer(1, 1 << 24), "65536", "events queued for the file sink; beyond it they are dropped and counted");

    /** Size at which the file sink rotates. */
    public static final Setting<Long> SINK_FILE_MAX_BYTES = Setting.of("sink.file.max-bytes",
            ValueTypes.bytes(KIB, 1024 * GIB), "256MiB", "rotate the sink file to <file>.1 beyond this size");

    /** The RabbitMQ nodes to publish to. */
    public static final Setting<List<URI>> BUS_URL = Setting.of("bus.url", ValueTypes.amqpUrlsOrOff(), "off",
            "AMQP URL(s) of the RabbitMQ bus, comma-separated for the nodes of one cluster (tried in turn when a"
                    + " connection fails), e.g. amqp://guest:guest@localhost:5672/%2F; \"off\": no bus, local only");

    /** The topic exchange events go to. */
    public static final Setting<String> BUS_EXCHANGE = Setting.of("bus.exchange", ValueTypes.exchangeName(), "weft",
            "the durable topic exchange events are published to (declared if absent); \"lc-topic\" for Contexture's"
                    + " consumers");

    /** The bus wire format. */
    public static final Setting<BusFormat> BUS_FORMAT = Setting.of("bus.format", ValueTypes.choice(BusFormat.class),
            "contexture", "contexture: one JSON message per event (Contexture's fields); batch: many events of one"
                    + " routing key per message, protobuf weft.v1.BusBatch");

    /** What happens to events while the broker is down or slow. */
    public static final Setting<BusPolicy> BUS_POLICY = Setting.of("bus.policy", ValueTypes.choice(BusPolicy.class),
            "drop", "drop: a bounded memory queue (bus.capacity), newest dropped and counted when full; spool: a"
                    + " bounded on-disk log in spool.dir, replayed in order after reconnect (at-least-once)");

    /** Events queued in memory for the bus. */
    public static final Setting<Integer> BUS_CAPACITY = Setting.of("bus.capacity", ValueTypes.integer(16, 1 << 24),
            "16384", "events queued for the bus publisher, and (bus.policy=drop) as many more kept in memory until"
                    + " the broker confirms them; beyond that the newest are dropped and counted. A held event takes"
                    + " about 1.2 KiB of heap or more: the default bounds a broker outage to some 40 MiB of the"
                    + " default 192 MiB heap; raise it with -Xmx (bursts of more than twice this many events faster"
                    + " than the broker takes them are dropped under drop)");

    /** Messages published and not yet confirmed. */
    public static final Setting<Integer> BUS_MAX_UNCONFIRMED = Setting.of("bus.max-unconfirmed",
            ValueTypes.integer(1, 1 << 20), "2048",
            "AMQP messages published and not yet confirmed by the broker; publishing pauses beyond it");

    /** Events per batch message. */
    public static final Setting<Integer> BUS_BATCH_MAX_EVENTS = Setting.of("bus.batch-max-events",
            ValueTypes.integer(1, 65_536), "256", "most events in one message of the batch format");

    /** The longest wait between reconnection attempts. */
    public static final Setting<Duration> BUS_RECONNECT_MAX = Setting.of("bus.reconnect-max",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(10)), "5s",
            "reconnection attempts back off from 100ms, doubling, up to this");

    /** The bound of each bus monitor queue. */
    public static final Setting<Integer> BUS_MONITOR_MAX_LENGTH = Setting.of("bus.monitor.max-length",
            ValueTypes.integer(1, 10_000_000), "100000",
            "x-max-length of the queue each bus monitor (Watch or ListObjects with source BUS) consumes from;"
                    + " RabbitMQ drops the oldest beyond it, and weftd counts them (bus.monitor drops bus_max_length,"
                    + " a Lagged marker to the watch)");

    /** The bound of the queue where RabbitMQ's drops from monitor queues wait to be counted. */
    public static final Setting<Integer> BUS_MONITOR_DEAD_LETTER_MAX_LENGTH = Setting.of(
            "bus.monitor.dead-letter-max-length", ValueTypes.integer(1, 10_000_000), "100000",
            "x-max-length of the queue into which monitor queues dead-letter what RabbitMQ drops from them"
                    + " (beyond max-length, older than 60 s); weftd only counts what arrives there, so it fills only"
                    + " while weftd is stalled, and drops beyond it go uncounted");

    /** Routing-key patterns the fleet view always follows. */
    public static final Setting<String> BUS_FLEET = Setting.of("bus.fleet", ValueTypes.patternsOrOff(), "off",
            "routing-key patterns (comma-separated) this daemon consumes from the bus at all times, so that"
                    + " ListObjects and GetObject with source BUS see the fleet; \"off\": only while a BUS watch runs");

    /** Where the spool lives. */
    public static final Setting<Optional<Path>> SPOOL_DIR = Setting.of("spool.dir", ValueTypes.pathOrOff(), "off",
            "directory of the on-disk spool (bus.policy=spool); created if absent");

    /** The spool's bound. */
    public static final Setting<Long> SPOOL_MAX_BYTES = Setting.of("spool.max-bytes",
            ValueTypes.bytes(MIB, 1024 * GIB), "1GiB",
            "disk the spool may use; beyond it the newest events are dropped and counted (spool_full)");

    /** Size of one spool file. */
    public static final Setting<Long> SPOOL_SEGMENT_BYTES = Setting.of("spool.segment-bytes",
            ValueTypes.bytes(64 * KIB, GIB), "8MiB",
            "size of one spool file; a file is deleted once every event in it is confirmed by the broker");

    /** How often the spool is forced to disk. */
    public static final Setting<Duration> SPOOL_FSYNC_INTERVAL = Setting.of("spool.fsync-interval",
            ValueTypes.duration(Duration.ZERO, Duration.ofMinutes(1)), "1s",
            "how often the spool is forced to stable storage (0s: after every write); a weftd crash loses nothing"
                    + " written, a power loss at most this much");

    /** The HTTP listener (dashboard, /metrics, /stats.json, /healthz, /readyz). */
    public static final Setting<Optional<HostPort>> HTTP = Setting.of("http", ValueTypes.hostPortOrOff(),
            "127.0.0.1:7312", "HTTP listener of the dashboard, /metrics, /stats.json, /healthz and /readyz:"
                    + " host:port (port 0 = any free port) or \"off\"");

    /** Statistics namespaces kept. */
    public static final Setting<Integer> STATS_MAX_NAMESPACES = Setting.of("stats.max-namespaces",
            ValueTypes.integer(1, 100_000), "256", "statistics namespaces kept; ops creating more fail with STATS_FULL");

    /** Entries of one namespace. */
    public static final Setting<Integer> STATS_MAX_ENTRIES = Setting.of("stats.max-entries",
            ValueTypes.integer(1, 1_000_000), "1024", "entries of one statistics namespace (STATS_FULL beyond)");

    /** Records of one collection. */
    public static final Setting<Integer> STATS_MAX_RECORDS = Setting.of("stats.max-records",
            ValueTypes.integer(1, 10_000_000), "10000",
            "records of one statistics collection: maps refuse more (STATS_FULL), lists drop their oldest");

    /** Length of a list collection whose appends name none. */
    public static final Setting<Integer> STATS_LIST_MAX = Setting.of("stats.list-max",
            ValueTypes.integer(1, 10_000_000), "100",
            "length of a statistics list when its appends name none; at most stats.max-records");

    /** Stored statistics values in all. */
    public static final Setting<Integer> STATS_MAX_VALUES = Setting.of("stats.max-values",
            ValueTypes.integer(1, 100_000_000), "500000",
            "statistics values stored in all namespaces (about 150 bytes each plus text); STATS_FULL beyond");

    /** Longest statistics string. */
    public static final Setting<Integer> STATS_MAX_TEXT_BYTES = Setting.of("stats.max-text-bytes",
            ValueTypes.integer(1, 1 << 20), "1024", "longest string value a statistic may hold");

    /** Namespaces whose collection is off. */
    public static final Setting<List<String>> STATS_DISABLED = Setting.reloadable("stats.disabled",
            ValueTypes.namesOrOff(256), "off",
            "statistics namespaces whose collection is switched off (their Enabled is false: SDKs skip the work,"
                    + " reports go on), comma-separated, or \"off\"; on SIGHUP, namespaces added are switched off and"
                    + " namespaces removed switched on again");

    /** Event fields sketched. */
    public static final Setting<List<String>> SKETCH_FIELDS = Setting.reloadable("sketch.fields",
            ValueTypes.namesOrOff(16), "client_ip,url",
            "event fields whose values are sketched (count, distinct values, top values), or \"off\"; on SIGHUP, fields"
                    + " still listed keep their sketches, new ones start empty");

    /** Routing keys sketched one by one. */
    public static final Setting<Integer> SKETCH_MAX_KEYS = Setting.of("sketch.max-keys",
            ValueTypes.integer(1, 100_000), "1024",
            "routing keys sketched one by one (count, distinct ids); events of further keys are only counted"
                    + " (and feed the heavy-hitter sketch)");

    /** The recent-events cache. */
    public static final Setting<Boolean> RECENT = Setting.of("recent", ValueTypes.onOff(), "on",
            "keep the last raw events of the busiest routing keys (ViewService.Recent): on or off");

    /** Routing keys in the recent cache. */
    public static final Setting<Integer> RECENT_KEYS = Setting.of("recent.keys", ValueTypes.integer(1, 100_000), "512",
            "routing keys the recent cache keeps (the busiest)");

    /** Events per key in the recent cache. */
    public static final Setting<Integer> RECENT_EVENTS = Setting.of("recent.events", ValueTypes.integer(1, 10_000),
            "100", "events the recent cache keeps per routing key");

    /** Size of one cached event. */
    public static final Setting<Integer> RECENT_EVENT_BYTES = Setting.of("recent.event-bytes",
            ValueTypes.integer(64, 1 << 20), "512",
            "an event larger than this (encoded) is cached summarised: strings cut to 64 characters, at most 16"
                    + " fields, nested values replaced by a note");

    /** Calls in flight on this daemon at once. */
    public static final Setting<Integer> CALL_MAX_PENDING = Setting.of("call.max-pending",
            ValueTypes.integer(1, 1 << 24), "65536",
            "calls in flight on this daemon at once; beyond, calls fail with RESOURCE_EXHAUSTED/QUEUE_FULL");

    /** Calls one serving client may have at once. */
    public static final Setting<Integer> CALL_SERVE_MAX_IN_FLIGHT = Setting.of("call.serve-max-in-flight",
            ValueTypes.integer(1, 1 << 20), "1024",
            "calls one Serve stream may have in flight; beyond, calls to it fail with QUEUE_FULL"
                    + " (its outbox holds twice this: an invocation and a cancel per call)");

    /** Calls one CallStream may have at once. */
    public static final Setting<Integer> CALL_STREAM_MAX_IN_FLIGHT = Setting.of("call.stream-max-in-flight",
            ValueTypes.integer(1, 1 << 20), "4096",
            "calls one CallStream may have in flight (with outcomes not yet written); at this many weftd"
                    + " stops reading the stream until half are answered, so HTTP/2 holds the caller back");

    /** Serve streams registered at once. */
    public static final Setting<Integer> CALL_MAX_SERVERS = Setting.of("call.max-servers",
            ValueTypes.integer(1, 1 << 20), "4096", "Serve streams registered at once (QUEUE_FULL beyond)");

    /** The slow-call warning threshold. */
    public static final Setting<Duration> CALL_WARN_AFTER = Setting.of("call.warn-after",
            ValueTypes.duration(Duration.ofMillis(1), Duration.ofHours(1)), "1s",
            "a call still in flight after this long is logged once and counted (calls_slow)");

    /** The budget of a call without a gRPC deadline. */
    public static final Setting<Duration> CALL_DEFAULT_TIMEOUT = Setting.of("call.default-timeout",
            ValueTypes.duration(Duration.ofMillis(1), Duration.ofDays(1)), "30s",
            "the budget of a call that arrives without a gRPC deadline");

    /** The largest handler stack passed back to a caller. */
    public static final Setting<Integer> CALL_MAX_STACK_BYTES = Setting.of("call.max-stack-bytes",
            ValueTypes.integer(0, 1 << 20), "8192",
            "a handler's stack is cut to this many bytes (UTF-8) before it travels back to the caller");

    /** Channel receivers open at once. */
    public static final Setting<Integer> CHANNEL_MAX_RECEIVERS = Setting.of("channel.max-receivers",
            ValueTypes.integer(1, 1 << 24), "10000",
            "channel receivers open on this daemon at once; beyond, opening one fails with RESOURCE_EXHAUSTED/QUEUE_FULL");

    /** Channel messages waiting for one client. */
    public static final Setting<Integer> CHANNEL_QUEUE = Setting.of("channel.queue",
            ValueTypes.integer(1, 1 << 20), "1024",
            "channel messages waiting for one Channel stream (all its receivers); beyond, a send fails with"
                    + " QUEUE_FULL and its sender is told (ChannelFailed)");

    /** The peer listener. */
    public static final Setting<Optional<HostPort>> PEER_LISTEN = Setting.of("peer.listen", ValueTypes.hostPortOrOff(),
            "off", "where peer daemons connect (PeerService.Link over mTLS), host:port or \"off\"");

    /** The peers to dial. */
    public static final Setting<List<HostPort>> PEERS = Setting.reloadable("peers", ValueTypes.hostPortsOrOff(), "off",
            "peer daemons to link to, host:port of their peer.listen, comma-separated; \"off\": none. On SIGHUP, new"
                    + " peers are dialled and the links of peers no longer listed closed (adding the first peer to a"
                    + " weftd started without TLS files or peer.plaintext takes a restart)");

    /** This daemon's certificate. */
    public static final Setting<Optional<Path>> TLS_CERT = Setting.of("tls.cert", ValueTypes.pathOrOff(), "off",
            "this daemon's certificate chain (PEM) for peer links; its subject CN is this daemon's id");

    /** This daemon's key. */
    public static final Setting<Optional<Path>> TLS_KEY = Setting.of("tls.key", ValueTypes.pathOrOff(), "off",
            "this daemon's private key (PKCS#8 PEM) for peer links");

    /** The CA peers' certificates must chain to. */
    public static final Setting<Optional<Path>> TLS_CA = Setting.of("tls.ca", ValueTypes.pathOrOff(), "off",
            "the CA certificate (PEM) every peer's certificate must be signed by");

    /** Plaintext peer links. */
    public static final Setting<Integer> PEER_PLAINTEXT = Setting.of("peer.plaintext", ValueTypes.integer(0, 1), "0",
            "1 allows plaintext peer links without certificates (loopback tests only): the peer's hello is trusted");

    /** Heartbeat interval of peer links. */
    public static final Setting<Duration> PEER_HEARTBEAT_INTERVAL = Setting.of("peer.heartbeat-interval",
            ValueTypes.duration(Duration.ofMillis(10), Duration.ofMinutes(1)), "500ms",
            "a peer link sends a heartbeat this often when it sent nothing else");

    /** When a silent link is dead. */
    public static final Setting<Duration> PEER_DEAD_AFTER = Setting.of("peer.dead-after",
            ValueTypes.duration(Duration.ofMillis(50), Duration.ofMinutes(10)), "2s",
            "a peer link that received nothing for this long is closed: its routes are withdrawn, its calls get"
                    + " dead replies, and it is dialled again");

    /** Most hops a route or a call may take. */
    public static final Setting<Integer> PEER_MAX_HOPS = Setting.of("peer.max-hops", ValueTypes.integer(1, 64), "8",
            "routes farther than this many hops are not accepted, and calls travel at most this many hops");

    /** Bound of one link's outbox. */
    public static final Setting<Integer> PEER_LINK_CAPACITY = Setting.of("peer.link-capacity",
            ValueTypes.integer(16, 1 << 22), "65536",
            "envelopes queued for one peer link; beyond, calls through it fail with QUEUE_FULL at once and"
                    + " anything else closes the link (it reconnects and re-synchronises its routes)");

    /** Longest pause between dials. */
    public static final Setting<Duration> PEER_RECONNECT_MAX = Setting.of("peer.reconnect-max",
            ValueTypes.duration(Duration.ofMillis(10), Duration.ofMinutes(10)), "5s",
            "a lost peer link is dialled again with back-off doubling from 50 ms up to this");

    /** Every setting, in the order help and print-config show them. */
    public static final List<Setting<?>> ALL = List.of(
            SOCKET, SOCKET_MODE, LISTEN, DAEMON_ID, LOG_LEVEL, DRAIN_GRACE,
            INBOUND_CAPACITY, INBOUND_CLIENT_QUOTA,
            BROKER_INBOUND_DRAIN_LIMIT, BROKER_CLIENT_DRAIN_LIMIT, BROKER_SLOW_CYCLE,
            COLLATOR_LIVE_MAX, COLLATOR_LIVE_TTL, COLLATOR_FINISHED_MAX,
            COLLATOR_LIVE_MAX_BYTES,
            COLLATOR_FINISHED_MAX_BYTES,
            LIMITS_EVENT_BYTES, LIMITS_DEPTH, LIMITS_FIELDS, LIMITS_HEADERS,
            GRPC_MAX_MESSAGE_BYTES, WATCH_MAX, WATCH_BUFFER, FLUSH_MAX_PENDING,
            SINK_FILE, SINK_FILE_CAPACITY, SINK_FILE_MAX_BYTES,
            BUS_URL, BUS_EXCHANGE, BUS_FORMAT, BUS_POLICY, BUS_CAPACITY, BUS_MAX_UNCONFIRMED, BUS_BATCH_MAX_EVENTS,
            BUS_RECONNECT_MAX, BUS_MONITOR_MAX_LENGTH, BUS_MONITOR_DEAD_LETTER_MAX_LENGTH, BUS_FLEET,
            SPOOL_DIR, SPOOL_MAX_BYTES, SPOOL_SEGMENT_BYTES, SPOOL_FSYNC_INTERVAL,
            HTTP, STATS_MAX_NAMESPACES, STATS_MAX_ENTRIES, STATS_MAX_RECORDS, STATS_LIST_MAX, STATS_MAX_VALUES,
            STATS_MAX_TEXT_BYTES, STATS_DISABLED, SKETCH_FIELDS, SKETCH_MAX_KEYS, RECENT, RECENT_KEYS, RECENT_EVENTS,
            RECENT_EVENT_BYTES,
            CALL_MAX_PENDING, CALL_SERVE_MAX_IN_FLIGHT, CALL_STREAM_MAX_IN_FLIGHT, CALL_MAX_SERVERS, CALL_WARN_AFTER,
            CALL_DEFAULT_TIMEOUT, CALL_MAX_STACK_BYTES, CHANNEL_MAX_RECEIVERS, CHANNEL_QUEUE,
            PEER_LISTEN, PEERS, TLS_CERT, TLS_KEY, TLS_CA, PEER_PLAINTEXT, PEER_HEARTBEAT_INTERVAL, PEER_DEAD_AFTER,
            PEER_MAX_HOPS, PEER_LINK_CAPACITY, PEER_RECONNECT_MAX);

    private Settings() {
    }

    /**
     * Finds a setting by key.
     *
     * @param key a dotted key
     * @return the setting, or empty
     */
    public static Optional<Setting<?>> byKey(String key) {
        for (Setting<?> s : ALL) {
            if (s.key().equals(key)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /**
     * The host name without DNS: the kernel's name, else what Java knows, else "localhost".
     * A default, so it must not hang on a host with broken name resolution.
     */
    private static String hostName() {
        return HostNameHolder.NAME;
    }

    private static final class HostNameHolder {
        static final String NAME = find();

        private static String find() {
            try {
                String kernel = Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.US_ASCII).trim();
                if (!kernel.isEmpty()) {
                    return kernel;
                }
            } catch (IOException | RuntimeException e) {
                // Not Linux, or /proc not mounted: ask Java instead.
            }
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                return "localhost";
            }
        }
    }
}
