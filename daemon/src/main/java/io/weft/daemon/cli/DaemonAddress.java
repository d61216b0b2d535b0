package io.weft.daemon.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where {@code weft} finds the daemon: a unix socket ({@code unix:///abs/path}, or just the
 * absolute path) or {@code host:port}.
 *
 * @param target the gRPC target: {@code unix:///abs/path} or {@code dns:///host:port}
 * @param display the address as the user should read it in messages
 */
record DaemonAddress(String target, String display) {

    /** What {@code --addr} and {@code WEFT_ADDR} accept, for error messages. */
    static final String EXPECTED = "expected unix:///absolute/path or host:port";

    /** The system socket. */
    static final Path SYSTEM_SOCKET = Path.of("/run/weft/weftd.sock");

    /** The TCP address weftd listens on by default. */
    static final String DEFAULT_TCP = "127.0.0.1:7311";

    /**
     * Parses an address.
     *
     * @param text {@code unix:///abs/path}, {@code /abs/path} or {@code host:port}
     * @return the address
     * @throws IllegalArgumentException with {@link #EXPECTED} when malformed
     */
    static DaemonAddress parse(String text) {
        String t = text.strip();
        if (t.startsWith("unix:")) {
            String path = t.substring("unix:".length());
            // unix:///abs and unix:/abs both name /abs; unix://host/... is not a socket path.
            path = path.startsWith("///") ? path.substring(2) : path;
            if (!path.startsWith("/") || path.startsWith("//")) {
                throw new IllegalArgumentException(EXPECTED);
            }
            return unix(Path.of(path));
        }
        if (t.startsWith("/")) {
            return unix(Path.of(t));
        }
        int colon = t.lastIndexOf(':');
        boolean portOk = colon > 0 && t.substring(colon + 1).matches("\\d{1,5}");
        boolean hostOk = colon > 0 && (t.startsWith("[") ? t.charAt(colon - 1) == ']' : t.indexOf(':') == colon);
        if (!portOk || !hostOk) {
            throw new IllegalArgumentException(EXPECTED);
        }
        return new DaemonAddress("dns:///" + t, t);
    }

    /**
     * The address to use when {@code --addr} is not given: {@code WEFT_ADDR}; else the user
     * socket {@code $XDG_RUNTIME_DIR/weft/weftd.sock} if it exists; else the system socket
     * {@code /run/weft/weftd.sock} if it exists; else weftd's last-resort socket
     * {@code <tmpdir>/weft-<user>/weftd.sock} if it exists; else {@code 127.0.0.1:7311}.
     *
     * @param env the environment
     * @return the address text, to be given to {@link #parse}
     */
    static String defaultText(Map<String, String> env) {
        return defaultText(env, SYSTEM_SOCKET,
                Path.of(System.getProperty("java.io.tmpdir"), "weft-" + System.getProperty("user.name"), "weftd.sock"));
    }

    /** {@link #defaultText(Map)} with the machine-dependent paths given, for tests. */
    static String defaultText(Map<String, String> env, Path systemSocket, Path tmpSocket) {
        String addr = env.get("WEFT_ADDR");
        if (addr != null && !addr.isBlank()) {
            return addr;
        }
        String xdg = env.get("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isBlank()) {
            Path user = Path.of(xdg, "weft", "weftd.sock");
            if (user.toFile().exists()) {
                return "unix://" + user;
            }
        }
        for (Path p : new Path[] {systemSocket, tmpSocket}) {
            if (p.toFile().exists()) {
                return "unix://" + p;
            }
        }
        return DEFAULT_TCP;
    }

    /** The socket file, when this is a unix-socket address. */
    Optional<Path> socketPath() {
        return target.startsWith("unix://") ? Optional.of(Path.of(target.substring("unix://".length())))
                : Optional.empty();
    }

    private static DaemonAddress unix(Path path) {
        String abs = path.normalize().toString();
        return new DaemonAddress("unix://" + abs, "unix://" + abs);
    }

    @Override
    public String toString() {
        return display;
    }
}
