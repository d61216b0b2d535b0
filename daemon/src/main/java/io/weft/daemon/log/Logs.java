package io.weft.daemon.log;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Locale;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/** Sets up java.util.logging for the daemon: one logfmt line per record on stdout. */
public final class Logs {

    private Logs() {}

    /**
     * Routes every logger to stdout in {@link LogFormat}, at {@code level} for Weft and at least
     * WARN for libraries (gRPC and Netty are chatty at INFO).
     *
     * @param level {@code debug}, {@code info}, {@code warn} or {@code error}
     */
    public static void configure(String level) {
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        Handler h = new StreamHandler(stdout(), new LogFormat()) {
            @Override
            public synchronized void publish(java.util.logging.LogRecord record) {
                super.publish(record);
                flush();
            }
        };
        h.setLevel(Level.ALL);
        root.addHandler(h);
        setLevel(level);
        if (LogManager.getLogManager() instanceof DaemonLogManager m) {
            m.markConfigured();
        }
    }

    /** Changes the level at run time. */
    public static void setLevel(String level) {
        Level l = toLevel(level);
        Logger.getLogger("").setLevel(l);
        Level libraries = l.intValue() < Level.WARNING.intValue() ? Level.WARNING : l;
        Logger.getLogger("io.grpc").setLevel(libraries);
        Logger.getLogger("io.netty").setLevel(libraries);
        // gRPC asks every server channel for SO_KEEPALIVE, which unix-domain sockets do not have;
        // Netty warns once per connection. Harmless (TECH-NOTES), and it would flood the log.
        Logger.getLogger("io.netty.bootstrap.ServerBootstrap").setLevel(Level.SEVERE);
    }

    /** Maps Weft's level names to java.util.logging's. */
    public static Level toLevel(String level) {
        return switch (level.toLowerCase(Locale.ROOT)) {
            case "debug" -> Level.FINE;
            case "warn", "warning" -> Level.WARNING;
            case "error" -> Level.SEVERE;
            default -> Level.INFO;
        };
    }

    private static PrintStream stdout() {
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                System.out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                System.out.write(b, off, len);
            }

            @Override
            public void flush() {
                System.out.flush();
            }
        }, true);
    }
}
