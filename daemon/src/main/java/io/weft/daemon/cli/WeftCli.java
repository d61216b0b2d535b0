package io.weft.daemon.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.weft.daemon.config.BuildInfo;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code weft}, the command-line client of weftd: {@code health}, {@code ls}, {@code get}, {@code mon},
 * {@code call}, {@code calls}, {@code routes}, {@code peers}.
 *
 * <p>Exit codes: 0 success; 1 the daemon reported an error, could not be reached, or is not
 * serving; 2 usage error.
 */
@Command(name = "weft",
        mixinStandardHelpOptions = true,
        versionProvider = WeftCli.Version.class,
        scope = ScopeType.INHERIT,
        subcommands = {HealthCommand.class, LsCommand.class, GetCommand.class, MonCommand.class, CallCommand.class,
            CallsCommand.class, RoutesCommand.class, PeersCommand.class, StatsCommand.class},
        description = "Talk to a running weftd: check its health, list and show collated context objects, call"
                + " functions clients serve, list calls in flight, routes and peer links.",
        footer = {"", "Exit codes: 0 ok; 1 error from or reaching the daemon; 2 usage error."})
public final class WeftCli implements Callable<Integer> {

    /** Library loggers silenced below SEVERE: the CLI reports failures itself (kept: JUL holds loggers weakly). */
    private static final Logger[] QUIET = {
        Logger.getLogger("io.grpc"), Logger.getLogger("io.netty"), Logger.getLogger("com.rabbitmq")};

    private static final long CLOSE_WAIT_MS = 1000;

    @Option(names = "--addr", paramLabel = "ADDR", scope = ScopeType.INHERIT,
            description = "The daemon: unix:///abs/path (or /abs/path) or host:port. Default: $WEFT_ADDR, else the"
                    + " user socket $XDG_RUNTIME_DIR/weft/weftd.sock if it exists, else /run/weft/weftd.sock if it"
                    + " exists, else <tmpdir>/weft-<user>/weftd.sock if it exists, else 127.0.0.1:7311.")
    String addr;

    @Option(names = "--timeout", paramLabel = "DURATION", scope = ScopeType.INHERIT, defaultValue = "5s",
            converter = DurationOption.class,
            description = "Deadline of each call to the daemon, e.g. 500ms, 5s, 1m. Default: ${DEFAULT-VALUE}.")
    Duration timeout;

    @Spec
    CommandSpec spec;

    private final Map<String, String> env;
    private final ChannelFactory channels;
    private DaemonAddress address;

    WeftCli(Map<String, String> env, ChannelFactory channels) {
        this.env = env;
        this.channels = channels;
    }

    /**
     * Entry point of the {@code weft} launcher.
     *
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        for (Logger l : QUIET) {
            l.setLevel(Level.SEVERE);
        }
        int code = execute(args, System.getenv(), ChannelFactory.netty(),
                new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        System.exit(code);
    }

    /**
     * Runs one command line.
     *
     * @param args arguments
     * @param env the environment ({@code WEFT_ADDR}, {@code XDG_RUNTIME_DIR})
     * @param channels opens the channel to the daemon
     * @param out standard output
     * @param err standard error
     * @return the exit code
     */
    static int execute(String[] args, Map<String, String> env, ChannelFactory channels, PrintWriter out,
            PrintWriter err) {
        WeftCli cli = new WeftCli(env, channels);
        CommandLine cl = new CommandLine(cli)
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setOut(out)
                .setErr(err)
                .setParameterExceptionHandler((e, a) -> usageError(e, err))
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    if (e instanceof StatusRuntimeException sre) {
                        err.println(RpcErrors.describe(sre, cli.address, cli.timeout));
                    } else {
                        err.println("error: " + e);
                    }
                    err.flush();
                    return 1;
                });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** A usage error: the problem and where to read more, not the whole help; exit 2. */
    private static int usageError(CommandLine.ParameterException e, PrintWriter err) {
        CommandLine cmd = e.getCommandLine();
        err.println("error: " + e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** {@code weft} alone: a command is required. */
    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: health, ls, get, mon, call, calls, routes or peers");
    }

    /**
     * Connects to the daemon ({@code --addr}, else the default address).
     *
     * @return the connection; close it
     * @throws CommandLine.ParameterException when the address is malformed (exit 2)
     */
    Connection connect() {
        String text = addr != null ? addr : DaemonAddress.defaultText(env);
        try {
            address = DaemonAddress.parse(text);
        } catch (IllegalArgumentException e) {
            String from = addr != null ? "--addr" : "WEFT_ADDR";
            throw new CommandLine.ParameterException(spec.commandLine(),
                    from + " " + text + ": " + DaemonAddress.EXPECTED);
        }
        return new Connection(channels.open(address), address, timeout);
    }

    /**
     * An open channel to the daemon.
     *
     * @param channel the channel
     * @param address where it goes
     * @param timeout the deadline for each call
     */
    record Connection(ManagedChannel channel, DaemonAddress address, Duration timeout) implements AutoCloseable {

        /** Milliseconds left for a call started now, for {@code withDeadlineAfter}. */
        long deadlineMs() {
            return timeout.toMillis();
        }

        @Override
        public void close() {
            channel.shutdownNow();
            try {
                channel.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"weft " + BuildInfo.version()};
        }
    }
}
