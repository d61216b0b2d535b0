package io.weft.daemon.testing;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.QueueInfo;
import io.weft.api.v1.QueuesRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real {@code weftd} process for integration tests: the launcher the build leaves in {@code
 * daemon/target} (directory from the system property {@code weft.launcher.dir}), on a unix socket
 * in a fresh temporary directory, optionally on an ephemeral loopback TCP port.
 *
 * <pre>{@code
 * try (WeftdProcess d = WeftdProcess.builder().tcp(true).start()) {
 *     ViewServiceGrpc.newBlockingStub(d.channel()) ...
 * }
 * }</pre>
 */
public final class WeftdProcess implements AutoCloseable {

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Pattern TCP = Pattern.compile("grpc_tcp=\\S*:(\\d+)");
    private static final Pattern HTTP = Pattern.compile(" http=\\S*:(\\d+)");
    private static final Duration START_DEADLINE = Duration.ofSeconds(30);

    private final Map<String, String> env;
    private final List<String> args;
    private final Path dir;
    private final Path socket;
    private final Path log;
    private Process process;
    private int tcpPort = -1;
    private int httpPort = -1;
    private int readyLinesSeen;
    private ManagedChannel channel;

    private WeftdProcess(Map<String, String> env, List<String> args, Path dir) {
        this.env = env;
        this.args = args;
        this.dir = dir;
        this.socket = Paths.get(env.get("WEFT_SOCKET"));
        this.log = dir.resolve("weftd.log");
    }

    /** A builder with the test defaults: unix socket only, no HTTP, a unique daemon id. */
    public static Builder builder() {
        return new Builder();
    }

    /** Starts a daemon with the defaults. */
    public static WeftdProcess start() throws IOException {
        return builder().start();
    }

    /** The launcher directory ({@code daemon/target}). */
    public static Path launcherDir() {
        String d = System.getProperty("weft.launcher.dir");
        if (d == null) {
            throw new IllegalStateException("system property weft.launcher.dir is not set (run through Maven)");
        }
        return Paths.get(d).toAbsolutePath().normalize();
    }

    private void launch() throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(launcherDir().resolve("weftd").toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().keySet().removeIf(k -> k.startsWith("WEFT_"));
        // A test run under systemd must not report its daemons to the real service manager.
        pb.environment().remove("NOTIFY_SOCKET");
        pb.environment().putAll(env);
        process = pb.start();
        awaitReady();
    }

    private void awaitReady() throws IOException {
        long deadline = System.nanoTime() + START_DEADLINE.toNanos();
        while (System.nanoTime() - deadline < 0) {
            String out = output();
            List<String> ready = out.lines().filter(l -> l.contains("msg=ready")).toList();
            if (ready.size() > readyLinesSeen) {
                readyLinesSeen = ready.size();
                Matcher m = TCP.matcher(ready.get(ready.size() - 1));
                if (m.find()) {
                    tcpPort = Integer.parseInt(m.group(1));
                }
                Matcher h = HTTP.matcher(ready.get(ready.size() - 1));
                if (h.find()) {
                    httpPort = Integer.parseInt(h.group(1));
                }
                return;
            }
            if (!process.isAlive()) {
                throw new IOException("weftd exited with " + process.exitValue() + " before ready:\n" + out);
            }
            pause();
        }
        process.destroyForcibly();
        throw new IOException("weftd was not ready within " + START_DEADLINE + ":\n" + output());
    }

    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The unix socket path. */
    public Path socketPath() {
        return socket;
    }

    /**
     * One queue as {@code AdminService/Queues} reports it now ("bus", "bus.monitor", "inbound"...).
     *
     * @throws java.util.NoSuchElementException when the daemon has no queue of that name
     */
    public QueueInfo queue(String name) {
        return AdminServiceGrpc.newBlockingStub(channel()).withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
                .queues(QueuesRequest.getDefaultInstance()).getQueuesList().stream()
                .filter(q -> q.getName().equals(name)).findFirst().orElseThrow();
    }

    /** The daemon id it runs with ({@code WEFT_DAEMON_ID}). */
    public String daemonId() {
        return env.get("WEFT_DAEMON_ID");
    }

    /** {@code unix:///abs/path}: a gRPC target, and a value for {@code WEFT_ADDR}. */
    public String target() {
        return "unix://" + socket.toAbsolutePath();
    }

    /** The TCP port, when started with {@code tcp(true)}. */
    public int tcpPort() {
        if (tcpPort < 0) {
            throw new IllegalStateException("started without tcp(true)");
        }
        return tcpPort;
    }

    /** The HTTP port (dashboard, metrics), when started with {@code http(true)}. */
    public int httpPort() {
        if (httpPort < 0) {
            throw new IllegalStateException("started without http(true)");
        }
        return httpPort;
    }

    /** The temporary directory this daemon owns (socket, files). */
    public Path dir() {
        return dir;
    }

    /** A channel to the daemon over its unix socket; closed by {@link #close()}. */
    public synchronized ManagedChannel channel() {
        if (channel == null) {
            channel = Grpc.newChannelBuilder(target(), InsecureChannelCredentials.create()).build();
        }
        return channel;
    }

    /** Everything the daemon printed so far (all its starts, appended). */
    public String output() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The daemon's process id. */
    public long pid() {
        return process.pid();
    }

    /** True while the process runs. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Sends SIGTERM. */
    public void sigterm() {
        process.destroy();
    }

    /** Sends SIGSTOP: the process stalls, its sockets stay open. */
    public void sigstop() throws IOException, InterruptedException {
        signal("-STOP");
    }

    /** Sends SIGCONT after {@link #sigstop}. */
    public void sigcont() throws IOException, InterruptedException {
        signal("-CONT");
    }

    private void signal(String signal) throws IOException, InterruptedException {
        int rc = new ProcessBuilder("kill", signal, Long.toString(process.pid())).inheritIO().start().waitFor();
        if (rc != 0) {
            throw new IOException("kill " + signal + " " + process.pid() + " exited with " + rc);
        }
    }

    /** Sends SIGKILL. */
    public void kill9() {
        process.destroyForcibly();
    }

    /** Waits for the process to end; returns its exit code. */
    public int waitForExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("weftd still running after " + timeout + ":\n" + output());
        }
        return process.exitValue();
    }

    /** Starts the daemon again with the same socket and settings (after it stopped). */
    public void restart() throws IOException {
        if (process.isAlive()) {
            throw new IllegalStateException("weftd is still running");
        }
        launch();
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Settings for a test daemon. */
    public static final class Builder {
        private final Map<String, String> env = new LinkedHashMap<>();
        private final List<String> args = new ArrayList<>();
        private boolean tcp;
        private boolean http;
        private Path socket;

        /** Sets an environment variable of the daemon (e.g. {@code WEFT_COLLATOR_LIVE_TTL}). */
        public Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        /** Adds a command-line argument. */
        public Builder arg(String arg) {
            args.add(arg);
            return this;
        }

        /** Also listen on an ephemeral loopback TCP port. */
        public Builder tcp(boolean on) {
            this.tcp = on;
            return this;
        }

        /** Also serve HTTP (dashboard, metrics) on an ephemeral loopback port. */
        public Builder http(boolean on) {
            this.http = on;
            return this;
        }

        /** Uses this socket path instead of one in the daemon's temporary directory. */
        public Builder socket(Path path) {
            this.socket = path;
            return this;
        }

        /** Makes the temporary directory and the settings without starting (see {@link #start()}). */
        public WeftdProcess create() throws IOException {
            Path dir = Files.createTempDirectory("weftd-test-");
            Map<String, String> e = new LinkedHashMap<>();
            e.put("WEFT_SOCKET", (socket != null ? socket : dir.resolve("weftd.sock")).toString());
            e.put("WEFT_LISTEN", tcp ? "127.0.0.1:0" : "off");
            e.put("WEFT_HTTP", http ? "127.0.0.1:0" : "off");
            e.put("WEFT_DAEMON_ID", "test-" + COUNTER.incrementAndGet());
            e.putAll(env);
            return new WeftdProcess(e, List.copyOf(args), dir);
        }

        /** Starts the daemon and returns once it printed its ready line. */
        public WeftdProcess start() throws IOException {
            WeftdProcess d = create();
            d.launch();
            return d;
        }
    }

    /** Starts a daemon made with {@link Builder#create()} (for tests where the daemon arrives late). */
    public void launchNow() throws IOException {
        launch();
    }
}
