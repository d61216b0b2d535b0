package io.weft.daemon.cli;

import com.google.protobuf.Struct;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Delivery;
import io.grpc.Context;
import io.weft.api.v1.BusEvent;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.Source;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchRequest;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.bus.BusMonitor;
import io.weft.daemon.bus.ContextureFormat;
import io.weft.daemon.bus.MonitorQueues;
import io.weft.daemon.core.StreamCollator;
import io.weft.daemon.view.ObjectSelector;
import io.weft.daemon.view.Projector;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code weft mon}: Contexture's {@code lcmon}. Prints messages (or, with {@code -c}, collated
 * objects) as they happen: from the daemon (its local view, or with {@code --fleet} its fleet
 * view), straight from the bus ({@code -H}, {@code -u}, {@code -q}), or from a file saved with
 * {@code -v} ({@code -s}).
 */
@Command(name = "mon",
        description = {"Print messages as they happen, or collated objects with -c (Contexture's lcmon).",
            "From the daemon by default; from the bus with -H/-u/-q; from a saved -v file with -s.",
            "Examples: weft mon -r 'shop.#' -k url status",
            "          weft mon -u amqp://guest:guest@mq:5672/%%2F -e lc-topic -v > saved.jsonl",
            "          weft mon -s -c < saved.jsonl"})
final class MonCommand implements Callable<Integer> {

    private static final String DEFAULT_HOST = "localhost";
    private static final int DEFAULT_QUEUE_MAX_LENGTH = 100_000;
    /** Dead letters held while this process is stalled, waiting to be counted (as the daemon's default). */
    private static final int DEAD_LETTER_MAX_LENGTH = 100_000;
    /** How often the count of what the bus dropped is reported, when it dropped any. */
    private static final long DROP_REPORT_INTERVAL_MS = 1_000;
    private static final int LOCAL_QUEUE = 1024;
    private static final int COLLATE_LIVE_MAX = 100_000;

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    FilterOptions filter;

    @Mixin
    OutputOptions output;

    @Option(names = {"-c", "--collate"},
            description = "Print collated objects (finished, transient, expired) instead of messages. Default: off.")
    boolean collate;

    @Option(names = {"-e", "--exchange"}, paramLabel = "EXCHANGE", defaultValue = "weft",
            description = "With -H/-u: the exchange to bind to (lc-topic for Contexture's). Default: ${DEFAULT-VALUE}.")
    String exchange;

    @Option(names = {"-H", "--hostname"}, paramLabel = "HOST",
            description = "Read straight from the bus at amqp://guest:guest@HOST:5672/%%2F. Default: from the daemon.")
    String host;

    @Option(names = {"-u", "--url"}, paramLabel = "URL",
            description = "Read straight from the bus at this AMQP URL (overrides -H). Default: from the daemon.")
    String url;

    @Option(names = {"-q", "--queue"}, paramLabel = "QUEUE",
            description = "Consume from this existing queue on the bus (-H/-u, else localhost) instead of a"
                    + " temporary one; consuming takes the messages from it. Default: a temporary queue.")
    String queue;

    @Option(names = "--queue-max-length", paramLabel = "N",
            description = "With -H/-u: the most messages the temporary queue holds while this monitor falls behind;"
                    + " the bus drops the oldest beyond it, and a warning says how many. Default: "
                    + DEFAULT_QUEUE_MAX_LENGTH + ".")
    Integer queueMaxLength;

    @Option(names = {"-s", "--stdin"},
            description = "Read messages saved with -v from standard input. Default: off.")
    boolean stdin;

    @Option(names = "--fleet",
            description = "From the daemon's fleet view: every host's messages, as the daemon reads them from the"
                    + " bus. Default: this host's.")
    boolean fleet;

    @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "0",
            description = "Stop after N messages or objects; 0 = until interrupted (or end of input with -s)."
                    + " Default: ${DEFAULT-VALUE}.")
    long count;

    private PrintWriter out;
    private Projector projector;
    private ObjectSelector selector;
    private StreamCollator collator;
    private long printed;

    @Override
    public Integer call() throws Exception {
        checkOptions();
        ObjectFilter f = filter.toFilter(spec);
        selector = ObjectSelector.compile(f);
        projector = Projector.compile(output.toProjection());
        collator = collate ? new StreamCollator(COLLATE_LIVE_MAX) : null;
        out = spec.commandLine().getOut();
        if (stdin) {
            return fromStdin();
        }
        if (host != null || url != null || queue != null) {
            return fromBus(f);
        }
        return fromDaemon(f);
    }

    private void checkOptions() {
        boolean bus = host != null || url != null || queue != null;
        if (stdin && (bus || fleet)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-s reads standard input: not with -H, -u, -q or --fleet");
        }
        if (fleet && bus) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--fleet reads through the daemon; -H, -u and -q read the bus directly: choose one");
        }
        if (queueMaxLength != null && (queue != null || host == null && url == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--queue-max-length bounds the temporary queue of -H/-u: not with -q, nor without -H or -u");
        }
        if (queueMaxLength != null && queueMaxLength < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--queue-max-length must be 1 or more, got " + queueMaxLength);
        }
        if (count < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--count must be 0 (no limit) or more, got " + count);
        }
    }

    private int fromDaemon(ObjectFilter f) {
        WatchRequest req = WatchRequest.newBuilder()
                .setMode(collate ? WatchMode.WATCH_MODE_OBJECTS : WatchMode.WATCH_MODE_MESSAGES)
                .setSource(fleet ? Source.SOURCE_BUS : Source.SOURCE_LOCAL)
                .setFilter(f)
                .build();
        try (WeftCli.Connection c = cli.connect();
                Context.CancellableContext ctx = Context.current().withCancellation()) {
            Iterator<WatchResponse> it = ctx.call(() -> ViewServiceGrpc.newBlockingStub(c.channel()).watch(req));
            while (it.hasNext()) {
                WatchResponse r = it.next();
                if (r.hasObject() && !printObject(r.getObject())) {
                    break;
                }
                if (r.hasMessage() && !printMessage(r.getMessage().getRoutingKey(), r.getMessage().getHeadersMap(),
                        MessageJson.body(r.getMessage()))) {
                    break;
                }
                if (r.hasLagged()) {
                    spec.commandLine().getErr().println("warning: " + r.getLagged().getDropped()
                            + " items lost before reaching this monitor: it fell behind");
                }
            }
        } catch (Exception e) {
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e);
        }
        return 0;
    }

    private int fromBus(ObjectFilter f) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        String target = url != null ? url : "amqp://guest:guest@" + (host != null ? host : DEFAULT_HOST) + ":5672/%2F";
        try {
            factory.setUri(target);
        } catch (java.net.URISyntaxException | java.security.GeneralSecurityException | IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-u " + target + ": not an AMQP URL (" + e.getMessage() + ")");
        }
        BlockingQueue<Delivery> deliveries = new ArrayBlockingQueue<>(LOCAL_QUEUE);
        Connection conn;
        try {
            conn = factory.newConnection("weft mon");
        } catch (IOException | java.util.concurrent.TimeoutException e) {
            spec.commandLine().getErr().println("error: cannot reach the bus at " + target.replaceAll("//[^@/]*@", "//")
                    + ": " + e.getMessage());
            return 1;
        }
        AtomicLong droppedByBus = new AtomicLong();
        ScheduledExecutorService reporter = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "weft-mon-drops");
            t.setDaemon(true);
            return t;
        });
        try (conn) {
            Channel ch = conn.createChannel();
            String q;
            if (queue != null) {
                q = existing(ch);
            } else {
                // Its own channel: the consumer below blocks when this process falls behind, and the
                // dead letters must still be counted meanwhile. Reported on a timer, not with the next
                // message: there may be none.
                Channel dl = conn.createChannel();
                String deadLetters = MonitorQueues.declareDeadLetters(dl, DEAD_LETTER_MAX_LENGTH);
                dl.basicConsume(deadLetters, true, (tag, d) -> droppedByBus.addAndGet(MonitorQueues.dropped(d).events()),
                        tag -> { });
                q = MonitorQueues.declare(ch, exchange, f,
                        queueMaxLength != null ? queueMaxLength : DEFAULT_QUEUE_MAX_LENGTH, deadLetters);
                reporter.scheduleWithFixedDelay(() -> reportDrops(droppedByBus), DROP_REPORT_INTERVAL_MS,
                        DROP_REPORT_INTERVAL_MS, TimeUnit.MILLISECONDS);
            }
            ch.basicConsume(q, true, (tag, d) -> {
                try {
                    deliveries.put(d);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, tag -> { });
            while (true) {
                Delivery d = deliveries.take();
                if (!printDelivery(d)) {
                    return 0;
                }
            }
        } finally {
            reporter.shutdownNow();
            reportDrops(droppedByBus);
        }
    }

    private void reportDrops(AtomicLong droppedByBus) {
        long dropped = droppedByBus.getAndSet(0);
        if (dropped > 0) {
            spec.commandLine().getErr().println("warning: " + dropped
                    + " events dropped by the bus from this monitor's queue: this monitor is too slow");
        }
    }

    private String existing(Channel ch) throws IOException {
        try {
            ch.queueDeclarePassive(queue);
        } catch (IOException e) {
            throw new IllegalStateException("queue '" + queue + "' does not exist on the bus", e);
        }
        return queue;
    }

    private boolean printDelivery(Delivery d) {
        String rk = d.getEnvelope().getRoutingKey();
        Map<String, String> headers = new HashMap<>();
        if (d.getProperties().getHeaders() != null) {
            d.getProperties().getHeaders().forEach((k, v) -> headers.put(k, String.valueOf(v)));
        }
        if (!collate && "application/json".equals(d.getProperties().getContentType())) {
            return printMessage(rk, headers, MessageJson.struct(new String(d.getBody(), StandardCharsets.UTF_8)));
        }
        try {
            for (BusEvent e : BusMonitor.decode(d)) {
                if (!printEvent(e.getEvent())) {
                    return false;
                }
            }
        } catch (ContextureFormat.BadMessageException e) {
            spec.commandLine().getErr().println("warning: skipped a message on " + rk + ": " + e.getMessage());
        }
        return true;
    }

    private int fromStdin() throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        int lineNo = 0;
        int bad = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            boolean more;
            try {
                MessageJson.Saved saved = MessageJson.parse(line);
                if (collate) {
                    more = printEvent(ContextureFormat.decode(saved.routingKey(), saved.headers(),
                            saved.body().getBytes(StandardCharsets.UTF_8)).getEvent());
                } else {
                    more = printMessage(saved.routingKey(), saved.headers(), MessageJson.struct(saved.body()));
                }
            } catch (IllegalArgumentException | ContextureFormat.BadMessageException e) {
                bad++;
                spec.commandLine().getErr().println("warning: line " + lineNo + " is not a saved message: " + e.getMessage());
                continue;
            }
            if (!more) {
                break;
            }
        }
        out.flush();
        return bad == 0 ? 0 : 1;
    }

    /** Prints an event as a message, or collates it; false once --count is reached. */
    private boolean printEvent(ContextEvent e) {
        if (!collate) {
            return printMessage(e.getRoutingKey(), e.getHeadersMap(), MessageJson.body(e));
        }
        for (ContextObject o : collator.apply(e)) {
            if (!printObject(o)) {
                return false;
            }
        }
        return true;
    }

    private boolean printMessage(String routingKey, Map<String, String> headers, Struct body) {
        if (!selector.matches(routingKey, headers)) {
            return true;
        }
        Struct shown = projector.apply(body);
        out.println(ObjectJson.render(output.verbose ? MessageJson.envelope(routingKey, headers, shown) : shown, output.pretty));
        out.flush();
        return ++printed != count;
    }

    private boolean printObject(ContextObject o) {
        if (!selector.matches(o)) {
            return true;
        }
        ContextObject shown = projector.isIdentity() ? o : o.toBuilder().setFields(projector.apply(o.getFields())).build();
        out.println(output.render(shown));
        out.flush();
        return ++printed != count;
    }
}
