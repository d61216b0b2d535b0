package io.weft.daemon.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.Projection;
import io.weft.api.v1.RecentResponse;
import io.weft.api.v1.Source;
import io.weft.daemon.core.ClientSession;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import io.weft.daemon.core.PageCursor;
import io.weft.daemon.stats.StatsEngine;
import io.weft.daemon.view.ObjectSelector;
import io.weft.daemon.view.Projector;
import io.weft.daemon.view.TopicMatcher;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The HTTP listener (setting {@code http}): the live dashboard {@code /}, {@code /stats.json},
 * {@code /recent.json}, {@code /objects.json}, {@code /metrics} (Prometheus text), {@code /healthz}
 * and {@code /readyz}.
 *
 * <p>Never blocks the broker: each request that needs broker state enqueues a {@code Command.Stats}
 * (or {@code ListObjects}) whose work only builds the answer, and the HTTP thread awaits it for at
 * most {@value #REPLY_TIMEOUT_MS} ms (503 after). Bounded: {@value #THREADS} threads and {@value
 * #QUEUE} waiting exchanges; beyond that the exchange runs on the accepting thread, which holds
 * back further connections in the listen backlog (counted in {@link #overflows()}).
 */
public final class StatsHttpServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger("http");
    static final int THREADS = 2;
    static final int QUEUE = 32;
    static final long REPLY_TIMEOUT_MS = 2000;
    /** Live objects on the dashboard at most. */
    static final int OBJECTS = 50;
    /** Recent events per key on the dashboard. */
    static final int RECENT_PER_KEY = 10;

    private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace();

    private final Inbound inbound;
    private final BooleanSupplier listenersUp;
    private final ClientSession session = new ClientSession("http");
    private final LongAdder overflows = new LongAdder();
    private final byte[] dashboard;
    private volatile HttpServer server;
    private volatile ThreadPoolExecutor pool;

    /**
     * @param listenersUp true once every gRPC listener is up (for /readyz)
     */
    public StatsHttpServer(Inbound inbound, BooleanSupplier listenersUp) {
        this.inbound = inbound;
        this.listenersUp = listenersUp;
        try (InputStream in = StatsHttpServer.class.getResourceAsStream("dashboard.html")) {
            this.dashboard = in.readAllBytes();
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("dashboard.html is missing from the build", e);
        }
    }

    /**
     * Binds and starts serving.
     *
     * @throws IOException when the address cannot be bound; the message names it
     */
    public void start(InetSocketAddress address) throws IOException {
        try {
            server = HttpServer.create(address, 64);
        } catch (IOException e) {
            throw new IOException("cannot listen on HTTP " + address + ": " + e.getMessage(), e);
        }
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(THREADS, THREADS, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(QUEUE),
                r -> {
                    Thread t = new Thread(r, "weft-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                },
                (r, executor) -> {
                    overflows.increment();
                    r.run();
                });
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The bound address (with the real port), or null before {@link #start}. Any thread. */
    public InetSocketAddress address() {
        HttpServer s = server;
        return s == null ? null : s.getAddress();
    }

    /** This listener's queue of exchanges, for the queue report. Any thread; empty before start. */
    public io.weft.api.v1.QueueInfo queueInfo() {
        ThreadPoolExecutor p = pool;
        return io.weft.api.v1.QueueInfo.newBuilder()
                .setName("http")
                .setDepth(p == null ? 0 : p.getQueue().size())
                .setCapacity(QUEUE)
                .putDrops("ran_on_acceptor", overflows.sum())
                .setPolicy("run on the accepting thread (backpressure into the listen backlog)")
                .build();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                send(ex, 405, "text/plain", "method not allowed\n");
                return;
            }
            String path = ex.getRequestURI().getPath();
            switch (path) {
                case "/":
                    send(ex, 200, "text/html; charset=utf-8", dashboard);
                    break;
                case "/healthz":
                    send(ex, 200, "text/plain", "ok\n");
                    break;
                case "/readyz":
                    ready(ex);
                    break;
                case "/stats.json":
                    sendJson(ex, ask(e -> e.snapshot(Set.of())));
                    break;
                case "/recent.json":
                    sendJson(ex, ask(StatsHttpServer::recent));
                    break;
                case "/objects.json":
                    sendJson(ex, liveObjects());
                    break;
                case "/metrics":
                    send(ex, 200, "text/plain; version=0.0.4; charset=utf-8",
                            PrometheusText.render(ask(e -> e.snapshot(Set.of()))));
                    break;
                default:
                    send(ex, 404, "text/plain", "not found: " + path + "\n");
            }
        } catch (Unavailable u) {
            send(ex, 503, "text/plain", u.getMessage() + "\n");
        } catch (RuntimeException e) {
            LOG.warning("msg=\"http request failed\" path=" + ex.getRequestURI().getPath() + " error=\"" + e + "\"");
            send(ex, 500, "text/plain", "internal error\n");
        }
    }

    private static RecentResponse recent(StatsEngine e) {
        return e.recent() == null ? RecentResponse.getDefaultInstance()
                : e.recent().report(TopicMatcher.compile(List.of()), RECENT_PER_KEY);
    }

    private void ready(HttpExchange ex) throws IOException {
        if (!listenersUp.getAsBoolean()) {
            send(ex, 503, "text/plain", "listeners are not up\n");
            return;
        }
        ask(e -> Boolean.TRUE);
        send(ex, 200, "text/plain", "ready\n");
    }

    private ListObjectsResponse liveObjects() {
        CompletableFuture<ListObjectsResponse> f = new CompletableFuture<>();
        ObjectSelector live = ObjectSelector.compile(ObjectFilter.newBuilder()
                .addStates(ObjectState.OBJECT_STATE_LIVE).build());
        offer(new Command.ListObjects(session, Source.SOURCE_LOCAL, live, Projector.compile(Projection.getDefaultInstance()), OBJECTS,
                PageCursor.START, f::complete));
        return await(f);
    }

    /** Runs {@code work} on the broker thread and waits for its result. */
    private <T> T ask(Function<StatsEngine, T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Consumer<StatsEngine> run = e -> {
            try {
                f.complete(work.apply(e));
            } catch (RuntimeException x) {
                f.completeExceptionally(x);
            }
        };
        offer(new Command.Stats(session, run));
        return await(f);
    }

    private void offer(Command c) {
        if (inbound.offer(c) != Inbound.Refusal.NONE) {
            throw new Unavailable("the daemon's inbound queue is full; retry");
        }
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(REPLY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new Unavailable("the broker did not answer within " + REPLY_TIMEOUT_MS + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted");
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    private static void sendJson(HttpExchange ex, MessageOrBuilder m) throws IOException {
        try {
            send(ex, 200, "application/json", JSON.print(m));
        } catch (InvalidProtocolBufferException e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        send(ex, status, type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** The broker could not answer in time, or its queue is full. */
    private static final class Unavailable extends RuntimeException {
        Unavailable(String message) {
            super(message, null, false, false);
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
            pool.shutdownNow();
        }
    }
}
