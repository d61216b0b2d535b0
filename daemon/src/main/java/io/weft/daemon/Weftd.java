package io.weft.daemon;

import io.grpc.ServerServiceDefinition;
import io.weft.api.v1.ListenAddress;
import io.weft.api.v1.QueueInfo;
import io.weft.daemon.config.BuildInfo;
import io.weft.daemon.config.ConfigException;
import io.weft.daemon.config.DaemonOptions;
import io.weft.daemon.config.HostPort;
import io.weft.daemon.config.Settings;
import io.weft.daemon.config.WeftConfig;
import io.weft.daemon.core.BrokerAgent;
import io.weft.daemon.core.BrokerIdleStrategy;
import io.weft.daemon.core.BrokerSettings;
import io.weft.daemon.core.CallSettings;
import io.weft.daemon.core.Clock;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.EventSink;
import io.weft.daemon.core.Inbound;
import io.weft.daemon.grpc.AdminGrpcService;
import io.weft.daemon.grpc.CallGrpcService;
import io.weft.daemon.grpc.ContextGrpcService;
import io.weft.daemon.grpc.Errors;
import io.weft.daemon.grpc.EventLimits;
import io.weft.daemon.grpc.EventValidator;
import io.weft.daemon.grpc.GrpcServers;
import io.weft.daemon.grpc.ReplyExecutor;
import io.weft.daemon.grpc.Sessions;
import io.weft.daemon.grpc.ViewGrpcService;
import io.weft.daemon.log.LogFormat;
import io.weft.daemon.log.Logs;
import io.weft.daemon.bus.BusMonitor;
import io.weft.daemon.bus.BusPublisher;
import io.weft.daemon.bus.BusSettings;
import io.weft.daemon.grpc.StatsGrpcService;
import io.weft.daemon.http.StatsHttpServer;
import io.weft.daemon.sink.JsonLinesSink;
import io.weft.daemon.stats.DaemonNamespace;
import io.weft.daemon.stats.EventSketches;
import io.weft.daemon.stats.RecentEvents;
import io.weft.daemon.stats.StatsEngine;
import io.weft.daemon.stats.StatsOpValidator;
import io.weft.daemon.grpc.PeerGrpcService;
import io.weft.daemon.peer.Links;
import io.weft.daemon.peer.PeerDialer;
import io.weft.daemon.peer.PeerListener;
import io.weft.daemon.peer.PeerTls;
import io.grpc.Status;
import io.weft.api.v1.ErrorReason;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.agrona.concurrent.AgentRunner;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * weftd: wires the broker, the sinks and the gRPC listeners together, prints one {@code msg=ready}
 * line when every listener is up, and on SIGTERM drains within {@code drain.grace} and exits 0.
 */
public final class Weftd {

    private static final Logger LOG = Logger.getLogger("weftd");
    /** Idle this long and the broker sleeps until woken by new work (see BrokerIdleStrategy). */
    private static final long SLEEP_AFTER_NS = 10_000_000L;
    /** The longest deep sleep: timers (TTL expiry, status) run at least this often. */
    private static final long MAX_SLEEP_NS = 100_000_000L;
    private static final long DRAIN_POLL_NS = 1_000_000L;

    private final WeftConfig config;
    private final Inbound inbound;
    private final BrokerAgent broker;
    private final AgentRunner runner;
    private final List<EventSink> sinks;
    private final String instanceId;
    /** Reads the bus back for the fleet view; null without a bus. */
    private final BusMonitor busMonitor;
    private final Sessions sessions = new Sessions();
    private final Errors errors = new Errors();
    private final ReplyExecutor replies;
    private final GrpcServers servers = new GrpcServers();
    /** A new one each start: peers prefer routes of the newest epoch. */
    private final long epoch = Clock.system().epochNanos();
    /** The dialers by peer address; {@link #setPeers} changes them on SIGHUP. Guarded by this. */
    private final Map<HostPort, PeerDialer> dialers = new LinkedHashMap<>();
    private PeerListener peerListener;
    private ScheduledExecutorService peerScheduler;
    private PeerTls peerTls;
    private Links links;
    private String version;
    /** What stats.disabled says now. Guarded by this. */
    private List<String> statsDisabled = List.of();
    private final StatsEngine stats;
    private volatile StatsHttpServer http;
    private volatile boolean listenersUp;

    private Weftd(WeftConfig config) {
        this.config = config;
        this.inbound = new Inbound(config.inboundCapacity(), config.inboundClientQuota());
        this.instanceId = UUID.randomUUID().toString();
        this.sinks = sinks(config, instanceId);
        BusSettings bus = BusSettings.from(config);
        this.busMonitor = bus.enabled() ? new BusMonitor(bus, config.daemonId(), inbound) : null;
        this.stats = new StatsEngine(config.statsLimits(), Clock.system(), System.nanoTime(),
                new EventSketches(config.sketchFields(), config.sketchMaxKeys()),
                config.recent() ? new RecentEvents(config.recentKeys(), config.recentEvents(), config.recentEventBytes())
                        : null);
        this.broker = new BrokerAgent(brokerSettings(config), callSettings(config, epoch), Clock.system(), inbound, sinks, stats);
        BrokerIdleStrategy idle = new BrokerIdleStrategy(SLEEP_AFTER_NS, MAX_SLEEP_NS, broker::hasWork, inbound::isEmpty);
        inbound.onOffer(idle::wake);
        this.runner = new AgentRunner(
                idle,
                t -> LOG.log(Level.SEVERE, "msg=\"broker duty failed; the broker goes on\"", t),
                null,
                broker);
        this.replies = new ReplyExecutor(2, config.inboundCapacity());
    }

    /** Entry point of the {@code weftd} launcher. */
    public static void main(String[] args) {
        DaemonOptions options;
        try {
            options = DaemonOptions.parse(args, System.getenv());
        } catch (ConfigException e) {
            e.warnings().forEach(w -> System.err.println("warning: " + w));
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        if (options.exitCode().isPresent()) {
            System.out.print(options.output());
            System.exit(options.exitCode().getAsInt());
            return;
        }
        WeftConfig config = options.config();
        Logs.configure(config.logLevel().configName());
        options.warnings().forEach(w -> LOG.warning("msg=" + LogFormat.quote(w)));
        Weftd weftd = new Weftd(config);
        SystemdNotifier systemd = SystemdNotifier.fromEnvironment(System.getenv());
        String readyLine;
        try {
            readyLine = weftd.start();
        } catch (IOException | UncheckedIOException e) {
            LOG.severe("msg=\"cannot start\" error=" + LogFormat.quote(e.getMessage()));
            weftd.stopNow();
            System.exit(1);
            return;
        }
        Reloader reloader = new Reloader(args, System::getenv, config)
                .on(Settings.LOG_LEVEL, level -> Logs.setLevel(level.configName()))
                .on(Settings.STATS_DISABLED, weftd::setStatsDisabled)
                .on(Settings.SKETCH_FIELDS, weftd::setSketchFields)
                .on(Settings.PEERS, weftd::setPeers)
                .requireEveryReloadableHandled();
        // sun.misc.Signal (module jdk.unsupported) is the JDK's only way to catch SIGHUP.
        SignalHandler before = Signal.handle(new Signal("HUP"), sig -> {
            systemd.reloading();
            reloader.reload();
            systemd.ready(weftd.status());
        });
        if (before == SignalHandler.SIG_IGN) {
            // The JVM leaves a signal that was ignored when it started (nohup) ignored.
            LOG.warning("msg=\"SIGHUP is ignored by the process that started weftd (nohup?): no reload on SIGHUP\"");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            systemd.stopping(config.drainGrace().plus(SystemdNotifier.STOP_MARGIN));
            weftd.drainAndStop(config.drainGrace());
            // Exit 0 after a clean drain: a JVM ending on SIGTERM would otherwise report 143.
            Runtime.getRuntime().halt(0);
        }, "weft-shutdown"));
        // Only now, with the handlers in place: tools and systemd may signal as soon as they hear it.
        LOG.info(readyLine);
        systemd.ready(weftd.status());
    }

    /** Starts every part; returns the {@code msg=ready} line, for main to print once signals are handled. */
    private String start() throws IOException {
        for (EventSink s : sinks) {
            s.start();
        }
        AgentRunner.startOnThread(runner);
        setStatsDisabled(config.statsDisabled());
        if (busMonitor != null) {
            busMonitor.start();
        }
        Optional<Path> socket = config.socketPath();
        Optional<HostPort> tcp = config.listen();
        String version = BuildInfo.version();
        AdminGrpcService.Identity identity = new AdminGrpcService.Identity(version, config.daemonId(),
                instanceId, Clock.system().epochNanos(), System.nanoTime());
        EventLimits limits = new EventLimits(
                config.limitsEventBytes(), config.limitsDepth(), config.limitsFields(), config.limitsHeaders());
        http = config.http().isPresent() ? new StatsHttpServer(inbound, () -> listenersUp) : null;
        List<Supplier<QueueInfo>> otherQueues = new ArrayList<>();
        if (busMonitor != null) {
            otherQueues.add(busMonitor::queueInfo);
        }
        if (http != null) {
            otherQueues.add(http::queueInfo);
        }
        AdminGrpcService admin = new AdminGrpcService(identity, this::listenAddresses, broker, inbound, sinks, errors,
                sessions, replies, otherQueues);
        stats.reportDaemon(new DaemonNamespace(admin::infoNow, admin::queuesNow));
        List<ServerServiceDefinition> services = List.of(
                new ContextGrpcService(inbound, sessions, new EventValidator(limits), errors, replies)
                        .bindWithDepth(limits.depth()),
                new ViewGrpcService(inbound, sessions, errors, replies, config.watchBuffer(), busMonitor)
                        .bindService(),
                new CallGrpcService(inbound, sessions, errors, replies, new EventValidator(limits),
                        new CallGrpcService.Limits(config.daemonId(), config.callDefaultTimeout().toNanos(),
                                config.callServeMaxInFlight(), config.callMaxStackBytes(), config.channelQueue(),
                                config.callStreamMaxInFlight()))
                        .bind(limits.depth()),
                new StatsGrpcService(inbound, sessions, errors, replies, new StatsOpValidator(config.statsLimits()))
                        .bindService(),
                admin.bindService());
        servers.start(
                socket.orElse(null),
                config.socketPermissions(),
                tcp.map(HostPort::toSocketAddress).orElse(null),
                config.grpcMaxMessageBytes(),
                services);
        startPeers(version);
        if (http != null) {
            http.start(config.http().get().toSocketAddress());
        }
        listenersUp = true;
        StringBuilder ready = new StringBuilder("msg=ready daemon_id=")
                .append(LogFormat.quote(identity.daemonId()))
                .append(" version=").append(version);
        if (servers.socketPath() != null) {
            ready.append(" grpc_unix=").append(LogFormat.quote(servers.socketPath().toString()));
        }
        if (servers.tcpAddress() != null) {
            ready.append(" grpc_tcp=").append(hostPort(servers.tcpAddress()));
        }
        if (peerListener != null) {
            ready.append(" peer_listen=").append(hostPort(peerListener.address()));
        }
        if (http != null) {
            ready.append(" http=").append(hostPort(http.address()));
        }
        config.sinkFile().ifPresent(f -> ready.append(" sink_file=").append(LogFormat.quote(f.toString())));
        if (!config.busUrls().isEmpty()) {
            ready.append(" bus_exchange=").append(config.busExchange())
                    .append(" bus_policy=").append(config.busPolicy().name().toLowerCase(Locale.ROOT));
        }
        return ready.toString();
    }

    /**
     * Switches collection off for exactly the namespaces listed (on start and on SIGHUP): those no
     * longer listed are switched on again; namespaces never listed keep what SetEnabled made them.
     */
    synchronized void setStatsDisabled(List<String> disabled) {
        Set<String> touched = new LinkedHashSet<>(statsDisabled);
        touched.addAll(disabled);
        if (touched.isEmpty()) {
            return;
        }
        offerStats("stats.disabled", engine -> {
            for (String ns : touched) {
                if (engine.setEnabled(ns, !disabled.contains(ns)) == null) {
                    LOG.warning("msg=\"stats.disabled: no room for another namespace (stats.max-namespaces)\" namespace="
                            + LogFormat.quote(ns));
                }
            }
        });
        statsDisabled = List.copyOf(disabled);
    }

    /** Sketches exactly these event fields from now on (SIGHUP). */
    void setSketchFields(List<String> fields) {
        offerStats("sketch.fields", engine -> engine.sketches().setFields(fields));
    }

    /** Hands work to the broker, which owns the statistics; a full queue fails the reload, which a later SIGHUP repeats. */
    private void offerStats(String setting, Consumer<StatsEngine> work) {
        if (inbound.offer(new Command.Stats(sessions.unary(), work)) != Inbound.Refusal.NONE) {
            throw new IllegalStateException("the broker's inbound queue is full: " + setting
                    + " not applied; send SIGHUP again");
        }
    }

    /** The peer listener and the dialers of the configured peers, when any are configured. */
    private void startPeers(String version) throws IOException {
        this.version = version;
        if (config.peerListen().isEmpty() && config.peers().isEmpty()) {
            return;
        }
        Links l = peerLinks();
        if (config.peerListen().isPresent()) {
            peerListener = PeerListener.start(config.peerListen().get().toSocketAddress(), peerTls,
                    new PeerGrpcService(l).bind(), config.grpcMaxMessageBytes());
        }
        setPeers(config.peers());
    }

    /**
     * Dials exactly {@code peers}: new ones are dialled, the links of those no longer listed are
     * closed (their routes withdrawn, their calls answered TARGET_GONE). On start and on SIGHUP.
     *
     * @throws IllegalStateException when weftd started without the TLS files (or peer.plaintext)
     *     that links need: those take a restart
     */
    synchronized void setPeers(List<HostPort> peers) {
        if (!peers.isEmpty()) {
            peerLinks();
        }
        for (var it = dialers.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!peers.contains(e.getKey())) {
                e.getValue().close();
                it.remove();
                LOG.info("msg=\"peer removed\" address=" + e.getKey());
            }
        }
        for (HostPort peer : peers) {
            if (!dialers.containsKey(peer)) {
                PeerDialer d = new PeerDialer(peer, peerTls, links, peerScheduler, config.peerReconnectMax().toNanos(),
                        config.grpcMaxMessageBytes());
                dialers.put(peer, d);
                d.start();
            }
        }
    }

    /** The link registry, the TLS material and the dialer thread, made on first need. */
    private synchronized Links peerLinks() {
        if (links != null) {
            return links;
        }
        if (config.tlsCert().isEmpty() && !config.peerPlaintext()) {
            throw new IllegalStateException("weftd started without tls.cert, tls.key and tls.ca (and without"
                    + " peer.plaintext): peer links need a restart with them");
        }
        try {
            peerTls = config.tlsCert().isPresent()
                    ? PeerTls.load(config.tlsCert().get(), config.tlsKey().orElseThrow(), config.tlsCa().orElseThrow())
                    : null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the TLS files: " + e.getMessage(), e);
        }
        links = new Links(config.daemonId(), epoch, version, inbound, replies, config.peerLinkCapacity(),
                config.peerPlaintext(), why -> errors.error(Status.Code.UNAUTHENTICATED,
                        ErrorReason.ERROR_REASON_PEER_AUTH_FAILED, why));
        peerScheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "weft-peer-dialer");
            t.setDaemon(true);
            return t;
        });
        return links;
    }

    private synchronized void stopPeers() {
        dialers.values().forEach(PeerDialer::close);
        if (peerListener != null) {
            peerListener.close();
        }
        if (peerScheduler != null) {
            peerScheduler.shutdownNow();
        }
    }

    /**
     * Stops taking work, waits until everything admitted has been applied and every sink has it (or
     * the grace ran out), then stops. Logs what was left undone.
     */
    void drainAndStop(Duration grace) {
        long deadlineNs = System.nanoTime() + grace.toNanos();
        LOG.info("msg=draining grace_ms=" + grace.toMillis() + " inbound_depth=" + inbound.depth());
        listenersUp = false;
        servers.beginShutdown();
        sessions.beginDrain();
        while (!broker.isDrained() && System.nanoTime() - deadlineNs < 0) {
            LockSupport.parkNanos(DRAIN_POLL_NS);
        }
        boolean drained = broker.isDrained();
        stopPeers();
        runner.close();
        broker.abandonFlushes();
        long left = inbound.depth();
        for (EventSink s : sinks) {
            left += s.close(Duration.ofNanos(Math.max(0, deadlineNs - System.nanoTime())));
        }
        servers.close();
        closeHttp();
        replies.close();
        if (busMonitor != null) {
            busMonitor.close();
        }
        Map<String, Long> c = broker.status().counters();
        LOG.info("msg=stopped drained=" + drained + " undelivered=" + left
                + " events_in=" + c.getOrDefault("events_in", 0L));
    }

    private void stopNow() {
        stopPeers();
        if (busMonitor != null) {
            busMonitor.close();
        }
        runner.close();
        servers.close();
        closeHttp();
        replies.close();
        for (EventSink s : sinks) {
            s.close(Duration.ZERO);
        }
    }

    private void closeHttp() {
        if (http != null) {
            http.close();
        }
    }

    /** One line for {@code systemctl status}: the listeners. */
    private String status() {
        return "serving on " + String.join(" ", listenAddresses().stream().map(ListenAddress::getAddress).toList());
    }

    private List<ListenAddress> listenAddresses() {
        List<ListenAddress> out = new ArrayList<>();
        if (servers.socketPath() != null) {
            out.add(ListenAddress.newBuilder().setKind("grpc-unix").setAddress(servers.socketPath().toString()).build());
        }
        if (servers.tcpAddress() != null) {
            out.add(ListenAddress.newBuilder().setKind("grpc-tcp").setAddress(hostPort(servers.tcpAddress())).build());
        }
        InetSocketAddress httpAddress = http == null ? null : http.address();
        if (httpAddress != null) {
            out.add(ListenAddress.newBuilder().setKind("http").setAddress(hostPort(httpAddress)).build());
        }
        return out;
    }

    private static BrokerSettings brokerSettings(WeftConfig c) {
        return new BrokerSettings(
                c.daemonId(),
                c.brokerInboundDrainLimit(),
                c.brokerClientDrainLimit(),
                c.brokerSlowCycle().toNanos(),
                c.collatorLiveMax(),
                c.collatorLiveTtl().toNanos(),
                c.collatorLiveMaxBytes(),
                c.collatorFinishedMax(),
                c.collatorFinishedMaxBytes(),
                c.watchMax(),
                c.flushMaxPending());
    }

    private static CallSettings callSettings(WeftConfig c, long epoch) {
        return new CallSettings(c.daemonId(), c.callMaxPending(), c.callServeMaxInFlight(), c.callMaxServers(),
                c.callWarnAfter().toNanos(), new CallSettings.PeerSettings(epoch, c.peerMaxHops(),
                        c.peerHeartbeatInterval().toNanos(), c.peerDeadAfter().toNanos()), c.channelMaxReceivers());
    }

    private static List<EventSink> sinks(WeftConfig c, String instanceId) {
        List<EventSink> out = new ArrayList<>();
        c.sinkFile().ifPresent(path -> out.add(new JsonLinesSink(path, c.sinkFileCapacity(), c.sinkFileMaxBytes())));
        BusSettings bus = BusSettings.from(c);
        if (bus.enabled()) {
            out.add(new BusPublisher(bus, c.daemonId(), instanceId, Clock.system()));
        }
        return List.copyOf(out);
    }


    private static String hostPort(java.net.InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

}
