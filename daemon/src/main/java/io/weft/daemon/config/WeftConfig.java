package io.weft.daemon.config;

import java.net.URI;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The effective configuration: one typed value per setting of {@link Settings}, with the
 * source it came from. Immutable.
 *
 * <p>Precedence: flags ({@code --key=value}) over environment ({@code WEFT_...}) over the
 * config file ({@code --config=PATH} or {@code WEFT_CONFIG}) over the built-in default.
 * An empty environment variable counts as unset.
 */
public final class WeftConfig {

    /** Variables that belong to other parts of Weft: never settings, never warned about. */
    static final Set<String> FOREIGN_ENV = Set.of("WEFT_ADDR", "WEFT_JAVA_OPTS", "WEFT_CONFIG");

    /** Flags {@link DaemonOptions} acts on; {@link #load} passes over them. */
    static final Set<String> ACTION_FLAGS = Set.of("--check-config", "--print-config", "--print-config-reference",
            "--help", "-h", "--version");

    /** The one variable socket resolution reads. */
    private static final String XDG_RUNTIME_DIR = "XDG_RUNTIME_DIR";

    private final Map<Setting<?>, Value<?>> values;
    private final Optional<Path> file;
    private final List<String> warnings;
    /** The part of the load-time environment that {@link #socketPath()} needs. */
    private final Map<String, String> socketEnv;

    private WeftConfig(Map<Setting<?>, Value<?>> values, Optional<Path> file, List<String> warnings,
            Map<String, String> env) {
        this.values = values;
        this.file = file;
        this.warnings = List.copyOf(warnings);
        this.socketEnv = nonEmpty(env.get(XDG_RUNTIME_DIR)) ? Map.of(XDG_RUNTIME_DIR, env.get(XDG_RUNTIME_DIR)) : Map.of();
    }

    /**
     * Loads the configuration from flags, environment, the config file and defaults.
     *
     * <p>Flags are {@code --key=value} for every setting and {@code --config=PATH}; the
     * action flags ({@code --check-config}, {@code --print-config}, {@code --help},
     * {@code --version}) are left to {@link DaemonOptions} and passed over here, so the
     * daemon can reload with its original arguments.
     *
     * @param args command-line arguments
     * @param env the environment
     * @return the configuration
     * @throws ConfigException listing every problem: unknown or malformed flags, unreadable
     *     file, unknown file keys, invalid values, conflicts between settings
     */
    public static WeftConfig load(String[] args, Map<String, String> env) throws ConfigException {
        List<String> errors = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Map<String, Candidate> flags = new HashMap<>();
        Candidate configFlag = readFlags(args, flags, errors);

        Candidate configRef = configFlag != null ? configFlag
                : nonEmpty(env.get("WEFT_CONFIG")) ? new Candidate(env.get("WEFT_CONFIG"), Source.env("WEFT_CONFIG"))
                : null;
        Optional<Path> file = Optional.empty();
        Map<String, Candidate> fromFile = new HashMap<>();
        if (configRef != null) {
            if (configRef.text.isEmpty()) {
                errors.add("config = \"\" (" + configRef.source + "): expected a file path");
            } else {
                file = Optional.of(Path.of(configRef.text));
                readFile(file.get(), fromFile, errors);
            }
        }
        warnUnknownEnv(env, warnings);

        Map<Setting<?>, Value<?>> values = new LinkedHashMap<>();
        for (Setting<?> s : Settings.ALL) {
            Candidate c = flags.get(s.key());
            if (c == null && nonEmpty(env.get(s.env()))) {
                c = new Candidate(env.get(s.env()).strip(), Source.env(s.env()));
            }
            if (c == null) {
                c = fromFile.get(s.key());
            }
            if (c == null) {
                c = new Candidate(s.defaultText(), Source.DEFAULT);
            }
            Value<?> v = parse(s, c, errors);
            if (v != null) {
                values.put(s, v);
            }
        }
        if (values.size() == Settings.ALL.size()) {
            checkConflicts(values, errors);
        }
        if (!errors.isEmpty()) {
            throw new ConfigException(errors, warnings);
        }
        return new WeftConfig(values, file, warnings, env);
    }

    /** Reads setting flags into {@code flags}; returns {@code --config}, if given. */
    private static Candidate readFlags(String[] args, Map<String, Candidate> flags, List<String> errors) {
        Candidate config = null;
        List<String> known = new ArrayList<>();
        known.add("--config");
        Settings.ALL.forEach(s -> known.add(s.flag()));
        for (String arg : args) {
            if (ACTION_FLAGS.contains(arg)) {
                continue;
            }
            if (!arg.startsWith("--")) {
                errors.add("unexpected argument \"" + arg + "\": settings are flags like --listen=127.0.0.1:7311");
                continue;
            }
            int eq = arg.indexOf('=');
            String flag = eq < 0 ? arg : arg.substring(0, eq);
            Optional<Setting<?>> setting = Settings.byKey(flag.substring(2));
            if (!flag.equals("--config") && setting.isEmpty()) {
                errors.add("unknown flag " + flag + Names.didYouMean(flag, known));
            } else if (eq < 0) {
                errors.add("flag " + flag + " needs a value: " + flag + "=" + (setting.isEmpty() ? "PATH" : "VALUE"));
            } else if (setting.isEmpty()) {
                config = new Candidate(arg.substring(eq + 1).strip(), Source.flag(flag));
            } else {
                flags.put(setting.get().key(), new Candidate(arg.substring(eq + 1).strip(), Source.flag(flag)));
            }
        }
        return config;
    }

    private static void readFile(Path path, Map<String, Candidate> fromFile, List<String> errors) {
        List<String> keys = Settings.ALL.stream().map(Setting::key).toList();
        Map<String, Integer> firstLine = new HashMap<>();
        for (ConfigFile.Entry e : ConfigFile.read(path, errors)) {
            String where = path + ":" + e.line() + ": ";
            if (!keys.contains(e.key())) {
                errors.add(where + "unknown setting \"" + e.key() + "\"" + Names.didYouMean(e.key(), keys));
            } else if (firstLine.containsKey(e.key())) {
                errors.add(where + e.key() + " is set twice (first on line " + firstLine.get(e.key()) + ")");
            } else {
                firstLine.put(e.key(), e.line());
                fromFile.put(e.key(), new Candidate(e.value(), Source.file(path.toString(), e.line())));
            }
        }
    }

    private static void warnUnknownEnv(Map<String, String> env, List<String> warnings) {
        Set<String> known = Settings.ALL.stream().map(Setting::env).collect(Collectors.toSet());
        for (String name : new TreeSet<>(env.keySet())) {
            if (!name.startsWith("WEFT_") || known.contains(name) || FOREIGN_ENV.contains(name)) {
                continue;
            }
            warnings.add("unknown environment variable " + name + " ignored" + Names.didYouMean(name, known));
        }
    }

    private static <T> Value<T> parse(Setting<T> s, Candidate c, List<String> errors) {
        try {
            T value = s.type().parse(c.text);
            return new Value<>(value, s.type().format(value), c.source);
        } catch (IllegalArgumentException e) {
            errors.add(s.key() + " = \"" + c.text + "\" (" + c.source + "): " + e.getMessage());
            return null;
        }
    }

    private static void checkConflicts(Map<Setting<?>, Value<?>> v, List<String> errors) {
        if (((SocketLocation) v.get(Settings.SOCKET).value()).mode() == SocketLocation.Mode.OFF
                && ((Optional<?>) v.get(Settings.LISTEN).value()).isEmpty()) {
            errors.add("no gRPC listener: socket is off (" + v.get(Settings.SOCKET).source() + ") and listen is off ("
                    + v.get(Settings.LISTEN).source() + ")");
        }
        atMost(v, Settings.INBOUND_CLIENT_QUOTA, Settings.INBOUND_CAPACITY,
                "one client may not queue more than the inbound queue holds", errors);
        atMost(v, Settings.BROKER_CLIENT_DRAIN_LIMIT, Settings.BROKER_INBOUND_DRAIN_LIMIT,
                "one client's share of a duty cycle cannot exceed the whole cycle", errors);
        atMost(v, Settings.LIMITS_EVENT_BYTES, Settings.GRPC_MAX_MESSAGE_BYTES,
                "a gRPC message must be able to carry the largest event", errors);
        atMost(v, Settings.SPOOL_SEGMENT_BYTES, Settings.SPOOL_MAX_BYTES,
                "one spool file cannot be larger than the whole spool", errors);
        if (v.get(Settings.BUS_POLICY).value() == BusPolicy.SPOOL && ((Optional<?>) v.get(Settings.SPOOL_DIR).value()).isEmpty()) {
            errors.add("bus.policy = spool (" + v.get(Settings.BUS_POLICY).source() + ") needs spool.dir, which is off ("
                    + v.get(Settings.SPOOL_DIR).source() + "): set WEFT_SPOOL_DIR or --spool.dir");
        }
        checkPeerTls(v, errors);
    }

    /** Peer links need all three TLS files, unless plaintext is explicitly allowed. */
    private static void checkPeerTls(Map<Setting<?>, Value<?>> v, List<String> errors) {
        boolean peering = ((Optional<?>) v.get(Settings.PEER_LISTEN).value()).isPresent()
                || !((List<?>) v.get(Settings.PEERS).value()).isEmpty();
        List<Setting<?>> tls = List.of(Settings.TLS_CERT, Settings.TLS_KEY, Settings.TLS_CA);
        long set = tls.stream().filter(s -> ((Optional<?>) v.get(s).value()).isPresent()).count();
        if (set != 0 && set != tls.size()) {
            errors.add("tls.cert, tls.key and tls.ca go together: set all three (WEFT_TLS_CERT, WEFT_TLS_KEY, WEFT_TLS_CA)");
        }
        if (peering && set == 0 && (Integer) v.get(Settings.PEER_PLAINTEXT).value() == 0) {
            errors.add("peer links need mTLS: set tls.cert, tls.key and tls.ca, or peer.plaintext = 1 ("
                    + v.get(Settings.PEER_PLAINTEXT).source() + ") for loopback tests");
        }
    }

    private static <T extends Comparable<T>> void atMost(Map<Setting<?>, Value<?>> v, Setting<T> small,
            Setting<T> big, String why, List<String> errors) {
        Value<?> a = v.get(small);
        Value<?> b = v.get(big);
        @SuppressWarnings("unchecked")
        T av = (T) a.value();
        @SuppressWarnings("unchecked")
        T bv = (T) b.value();
        if (av.compareTo(bv) > 0) {
            errors.add(small.key() + " = " + a.text() + " (" + a.source() + ") is above " + big.key() + " = "
                    + b.text() + " (" + b.source() + "): " + why);
        }
    }

    private static boolean nonEmpty(String s) {
        return s != null && !s.isBlank();
    }

    /**
     * The value of a setting.
     *
     * @param setting a setting of {@link Settings}
     * @param <T> its type
     * @return its value
     */
    @SuppressWarnings("unchecked")
    public <T> T get(Setting<T> setting) {
        return (T) values.get(setting).value();
    }

    /**
     * Where a setting's value came from.
     *
     * @param setting a setting of {@link Settings}
     * @return default, file and line, env variable or flag
     */
    public Source source(Setting<?> setting) {
        return values.get(setting).source();
    }

    /**
     * A setting's value in its canonical text form (as {@code --print-config} shows it).
     *
     * @param setting a setting of {@link Settings}
     * @return the text
     */
    public String text(Setting<?> setting) {
        return values.get(setting).text();
    }

    /** The config file read, if any. */
    public Optional<Path> file() {
        return file;
    }

    /**
     * Warnings found while loading, one line each, for the caller to log: unknown
     * {@code WEFT_*} environment variables.
     */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * The settings whose values differ from another configuration's; for SIGHUP: apply
     * the {@link Setting#reloadable()} ones, warn that the others need a restart.
     *
     * @param older the configuration in force
     * @return the changed settings, in catalog order
     */
    public List<Setting<?>> changedFrom(WeftConfig older) {
        List<Setting<?>> changed = new ArrayList<>();
        for (Setting<?> s : Settings.ALL) {
            if (!Objects.equals(get(s), older.get(s))) {
                changed.add(s);
            }
        }
        return changed;
    }

    /**
     * The configuration as a config file, one {@code key = value  # source} line per
     * setting; reading it back with {@code --config} gives the same values. For
     * {@code socket = auto} the comment also says where it resolves.
     *
     * @return the text, ending with a newline
     */
    public String render() {
        StringBuilder out = new StringBuilder("# weftd effective configuration (--print-config)\n");
        for (Setting<?> s : Settings.ALL) {
            Value<?> v = values.get(s);
            out.append(s.key()).append(" = ").append(ConfigFile.quote(v.text())).append("  # ").append(v.source());
            if (s == Settings.SOCKET && socket().mode() == SocketLocation.Mode.AUTO) {
                socketPath().ifPresent(p -> out.append("; auto is ").append(p));
            }
            out.append('\n');
        }
        return out.toString();
    }

    /**
     * Where the unix socket goes, {@code auto} resolved (see {@link SocketLocation#resolve})
     * with the environment the configuration was loaded from.
     *
     * @return the socket path, or empty when {@code socket = off}
     */
    public Optional<Path> socketPath() {
        return resolveSocketPath(socketEnv);
    }

    /**
     * Where the unix socket goes, {@code auto} resolved (see {@link SocketLocation#resolve}).
     *
     * @param env the environment ({@code XDG_RUNTIME_DIR})
     * @return the socket path, or empty when {@code socket = off}
     */
    public Optional<Path> resolveSocketPath(Map<String, String> env) {
        return socket().resolve(env);
    }

    /** {@code socket}: the unix socket setting as written; see {@link #resolveSocketPath}. */
    public SocketLocation socket() {
        return get(Settings.SOCKET);
    }

    /** {@code socket.mode}: permission bits of the socket file, e.g. {@code 0660}. */
    public int socketMode() {
        return get(Settings.SOCKET_MODE);
    }

    /** {@code socket.mode} as permissions for {@link java.nio.file.Files#setPosixFilePermissions}. */
    public Set<PosixFilePermission> socketPermissions() {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] byBit = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        for (int bit = 0; bit < byBit.length; bit++) {
            if ((socketMode() & (1 << bit)) != 0) {
                perms.add(byBit[bit]);
            }
        }
        return perms;
    }

    /** {@code listen}: the TCP listener, or empty when off. */
    public Optional<HostPort> listen() {
        return get(Settings.LISTEN);
    }

    /** {@code daemon.id}. */
    public String daemonId() {
        return get(Settings.DAEMON_ID);
    }

    /** {@code log.level} (reloadable). */
    public LogLevel logLevel() {
        return get(Settings.LOG_LEVEL);
    }

    /** {@code drain.grace}: how long SIGTERM waits for sinks. */
    public Duration drainGrace() {
        return get(Settings.DRAIN_GRACE);
    }

    /** {@code inbound.capacity}: events and commands the inbound queue holds. */
    public int inboundCapacity() {
        return get(Settings.INBOUND_CAPACITY);
    }

    /** {@code inbound.client-quota}: commands one client may have queued; at most {@link #inboundCapacity()}. */
    public int inboundClientQuota() {
        return get(Settings.INBOUND_CLIENT_QUOTA);
    }

    /** {@code broker.inbound-drain-limit}: commands per duty cycle. */
    public int brokerInboundDrainLimit() {
        return get(Settings.BROKER_INBOUND_DRAIN_LIMIT);
    }

    /** {@code broker.client-drain-limit}: commands per client per duty cycle. */
    public int brokerClientDrainLimit() {
        return get(Settings.BROKER_CLIENT_DRAIN_LIMIT);
    }

    /** {@code broker.slow-cycle}: the latency-watch threshold. */
    public Duration brokerSlowCycle() {
        return get(Settings.BROKER_SLOW_CYCLE);
    }

    /** {@code collator.live-max}: live objects kept. */
    public int collatorLiveMax() {
        return get(Settings.COLLATOR_LIVE_MAX);
    }

    /** {@code collator.live-ttl}: idle time before a live object expires. */
    public Duration collatorLiveTtl() {
        return get(Settings.COLLATOR_LIVE_TTL);
    }

    /** {@code collator.finished-max}: finished objects kept. */
    public int collatorFinishedMax() {
        return get(Settings.COLLATOR_FINISHED_MAX);
    }

    /** {@code collator.live-max-bytes}: estimated memory of live objects kept. */
    public long collatorLiveMaxBytes() {
        return get(Settings.COLLATOR_LIVE_MAX_BYTES);
    }

    /** {@code collator.finished-max-bytes}: estimated memory of finished objects kept. */
    public long collatorFinishedMaxBytes() {
        return get(Settings.COLLATOR_FINISHED_MAX_BYTES);
    }

    /** {@code limits.event-bytes}: largest event accepted (at most 256 MiB, so it fits an int). */
    public int limitsEventBytes() {
        return Math.toIntExact(get(Settings.LIMITS_EVENT_BYTES));
    }

    /** {@code limits.depth}: deepest value nesting accepted. */
    public int limitsDepth() {
        return get(Settings.LIMITS_DEPTH);
    }

    /** {@code limits.fields}: most fields per event. */
    public int limitsFields() {
        return get(Settings.LIMITS_FIELDS);
    }

    /** {@code limits.headers}: most headers per event. */
    public int limitsHeaders() {
        return get(Settings.LIMITS_HEADERS);
    }

    /** {@code grpc.max-message-bytes}: largest inbound gRPC message (at most 1 GiB, so it fits an int). */
    public int grpcMaxMessageBytes() {
        return Math.toIntExact(get(Settings.GRPC_MAX_MESSAGE_BYTES));
    }

    /** {@code watch.max}: watch streams at once. */
    public int watchMax() {
        return get(Settings.WATCH_MAX);
    }

    /** {@code watch.buffer}: default per-watcher buffer. */
    public int watchBuffer() {
        return get(Settings.WATCH_BUFFER);
    }

    /** {@code flush.max-pending}: flushes waiting at once. */
    public int flushMaxPending() {
        return get(Settings.FLUSH_MAX_PENDING);
    }

    /** {@code sink.file}: the JSON-lines file, or empty when off. */
    public Optional<Path> sinkFile() {
        return get(Settings.SINK_FILE);
    }

    /** {@code sink.file.capacity}: events queued for the file sink. */
    public int sinkFileCapacity() {
        return get(Settings.SINK_FILE_CAPACITY);
    }

    /** {@code sink.file.max-bytes}: size beyond which the file rotates to {@code <file>.1}. */
    public long sinkFileMaxBytes() {
        return get(Settings.SINK_FILE_MAX_BYTES);
    }

    /** {@code http}: the dashboard and metrics listener, or empty when off. */
    public Optional<HostPort> http() {
        return get(Settings.HTTP);
    }

    /** The {@code stats.*} bounds. */
    public io.weft.daemon.stats.StatsLimits statsLimits() {
        return new io.weft.daemon.stats.StatsLimits(get(Settings.STATS_MAX_NAMESPACES), get(Settings.STATS_MAX_ENTRIES),
                get(Settings.STATS_MAX_RECORDS), Math.min(get(Settings.STATS_LIST_MAX), get(Settings.STATS_MAX_RECORDS)),
                get(Settings.STATS_MAX_VALUES), get(Settings.STATS_MAX_TEXT_BYTES));
    }

    /** {@code sketch.fields}: event fields sketched (empty when off). */
    public List<String> sketchFields() {
        return get(Settings.SKETCH_FIELDS);
    }

    /** {@code sketch.max-keys}: routing keys sketched one by one. */
    public int sketchMaxKeys() {
        return get(Settings.SKETCH_MAX_KEYS);
    }

    /** {@code recent}: whether the recent-events cache is on. */
    public boolean recent() {
        return get(Settings.RECENT);
    }

    /** {@code recent.keys}: routing keys in the recent cache. */
    public int recentKeys() {
        return get(Settings.RECENT_KEYS);
    }

    /** {@code recent.events}: events per routing key in the recent cache. */
    public int recentEvents() {
        return get(Settings.RECENT_EVENTS);
    }

    /** {@code recent.event-bytes}: larger events are cached summarised. */
    public int recentEventBytes() {
        return get(Settings.RECENT_EVENT_BYTES);
    }

    /** {@code bus.url}: the RabbitMQ nodes; empty = no bus. */
    public List<URI> busUrls() {
        return get(Settings.BUS_URL);
    }

    /** {@code bus.exchange}: the topic exchange. */
    public String busExchange() {
        return get(Settings.BUS_EXCHANGE);
    }

    /** {@code bus.format}: the wire format. */
    public BusFormat busFormat() {
        return get(Settings.BUS_FORMAT);
    }

    /** {@code bus.policy}: drop or spool. */
    public BusPolicy busPolicy() {
        return get(Settings.BUS_POLICY);
    }

    /** {@code bus.capacity}: events queued in memory for the bus. */
    public int busCapacity() {
        return get(Settings.BUS_CAPACITY);
    }

    /** {@code bus.max-unconfirmed}: messages awaiting the broker's confirm. */
    public int busMaxUnconfirmed() {
        return get(Settings.BUS_MAX_UNCONFIRMED);
    }

    /** {@code bus.batch-max-events}: events per batch message. */
    public int busBatchMaxEvents() {
        return get(Settings.BUS_BATCH_MAX_EVENTS);
    }

    /** {@code bus.reconnect-max}: the longest reconnection back-off. */
    public Duration busReconnectMax() {
        return get(Settings.BUS_RECONNECT_MAX);
    }

    /** {@code bus.monitor.max-length}: the bound of each monitor queue. */
    public int busMonitorMaxLength() {
        return get(Settings.BUS_MONITOR_MAX_LENGTH);
    }

    /** {@code bus.monitor.dead-letter-max-length}: the bound of the queue RabbitMQ's monitor drops wait in. */
    public int busMonitorDeadLetterMaxLength() {
        return get(Settings.BUS_MONITOR_DEAD_LETTER_MAX_LENGTH);
    }

    /** {@code bus.fleet}: patterns always consumed for the fleet view; empty when off. */
    public List<String> busFleetPatterns() {
        String v = get(Settings.BUS_FLEET);
        return v.equals("off") ? List.of() : Arrays.stream(v.split(",")).map(String::strip).toList();
    }

    /** {@code spool.dir}: the spool's directory, if any. */
    public Optional<Path> spoolDir() {
        return get(Settings.SPOOL_DIR);
    }

    /** {@code spool.max-bytes}: the spool's bound. */
    public long spoolMaxBytes() {
        return get(Settings.SPOOL_MAX_BYTES);
    }

    /** {@code spool.segment-bytes}: the size of one spool file. */
    public long spoolSegmentBytes() {
        return get(Settings.SPOOL_SEGMENT_BYTES);
    }

    /** {@code spool.fsync-interval}: how often the spool is forced to disk. */
    public Duration spoolFsyncInterval() {
        return get(Settings.SPOOL_FSYNC_INTERVAL);
    }

    /** A parsed value, its canonical text and its source. */
    private record Value<T>(T value, String text, Source source) {
    }

    /** A value's text before parsing, and where it came from. */
    private record Candidate(String text, Source source) {
    }

    /** {@code call.max-pending}: calls in flight at once. */
    public int callMaxPending() {
        return get(Settings.CALL_MAX_PENDING);
    }

    /** {@code call.serve-max-in-flight}: calls one Serve stream may have at once. */
    public int callServeMaxInFlight() {
        return get(Settings.CALL_SERVE_MAX_IN_FLIGHT);
    }

    /** {@code call.stream-max-in-flight}: calls one CallStream may have at once. */
    public int callStreamMaxInFlight() {
        return get(Settings.CALL_STREAM_MAX_IN_FLIGHT);
    }

    /** {@code call.max-servers}: Serve streams at once. */
    public int callMaxServers() {
        return get(Settings.CALL_MAX_SERVERS);
    }

    /** {@code call.warn-after}: the slow-call threshold. */
    public Duration callWarnAfter() {
        return get(Settings.CALL_WARN_AFTER);
    }

    /** {@code call.default-timeout}: the budget of a call without a deadline. */
    public Duration callDefaultTimeout() {
        return get(Settings.CALL_DEFAULT_TIMEOUT);
    }

    /** {@code call.max-stack-bytes}: a handler's stack is cut to this. */
    public int callMaxStackBytes() {
        return get(Settings.CALL_MAX_STACK_BYTES);
    }

    /** {@code stats.disabled}: namespaces whose collection is off. */
    public List<String> statsDisabled() {
        return get(Settings.STATS_DISABLED);
    }

    /** {@code channel.max-receivers}: receivers open at once. */
    public int channelMaxReceivers() {
        return get(Settings.CHANNEL_MAX_RECEIVERS);
    }

    /** {@code channel.queue}: messages waiting for one Channel stream. */
    public int channelQueue() {
        return get(Settings.CHANNEL_QUEUE);
    }

    /** {@code peer.listen}: the peer listener, or empty. */
    public Optional<HostPort> peerListen() {
        return get(Settings.PEER_LISTEN);
    }

    /** {@code peers}: the peers to dial. */
    public List<HostPort> peers() {
        return get(Settings.PEERS);
    }

    /** {@code tls.cert}. */
    public Optional<Path> tlsCert() {
        return get(Settings.TLS_CERT);
    }

    /** {@code tls.key}. */
    public Optional<Path> tlsKey() {
        return get(Settings.TLS_KEY);
    }

    /** {@code tls.ca}. */
    public Optional<Path> tlsCa() {
        return get(Settings.TLS_CA);
    }

    /** {@code peer.plaintext}: plaintext peer links allowed. */
    public boolean peerPlaintext() {
        return get(Settings.PEER_PLAINTEXT) == 1;
    }

    /** {@code peer.heartbeat-interval}. */
    public Duration peerHeartbeatInterval() {
        return get(Settings.PEER_HEARTBEAT_INTERVAL);
    }

    /** {@code peer.dead-after}. */
    public Duration peerDeadAfter() {
        return get(Settings.PEER_DEAD_AFTER);
    }

    /** {@code peer.max-hops}. */
    public int peerMaxHops() {
        return get(Settings.PEER_MAX_HOPS);
    }

    /** {@code peer.link-capacity}. */
    public int peerLinkCapacity() {
        return get(Settings.PEER_LINK_CAPACITY);
    }

    /** {@code peer.reconnect-max}. */
    public Duration peerReconnectMax() {
        return get(Settings.PEER_RECONNECT_MAX);
    }
}
