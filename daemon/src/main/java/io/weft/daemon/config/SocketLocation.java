package io.weft.daemon.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code socket} setting: an absolute path, {@code off}, or {@code auto}.
 *
 * @param mode which of the three
 * @param path the path when {@code mode} is {@link Mode#PATH}, else null
 */
public record SocketLocation(Mode mode, Path path) {

    /** The system-wide socket directory (systemd's {@code RuntimeDirectory=weft}). */
    public static final Path SYSTEM_DIR = Path.of("/run/weft");

    /** The socket's file name in every automatic location. */
    public static final String FILE_NAME = "weftd.sock";

    /** What the setting says. */
    public enum Mode {
        AUTO, OFF, PATH
    }

    /** {@code auto}. */
    public static final SocketLocation AUTO = new SocketLocation(Mode.AUTO, null);

    /** {@code off}. */
    public static final SocketLocation OFF = new SocketLocation(Mode.OFF, null);

    /**
     * Resolves the socket path.
     *
     * <p>{@code auto} is {@code /run/weft/weftd.sock} when {@code /run/weft} is a writable
     * directory, else {@code $XDG_RUNTIME_DIR/weft/weftd.sock} when {@code XDG_RUNTIME_DIR}
     * is set, else {@code <java.io.tmpdir>/weft-<user>/weftd.sock}. The parent directory
     * may not exist yet: creating it is the listener's job.
     *
     * @param env the environment
     * @return the path, or empty when the socket is off
     */
    public Optional<Path> resolve(Map<String, String> env) {
        return resolve(env, SYSTEM_DIR, Path.of(System.getProperty("java.io.tmpdir")),
                System.getProperty("user.name"));
    }

    /** {@link #resolve(Map)} with the machine-dependent parts given, for tests. */
    Optional<Path> resolve(Map<String, String> env, Path systemDir, Path tmpDir, String user) {
        return switch (mode) {
            case OFF -> Optional.empty();
            case PATH -> Optional.of(path);
            case AUTO -> {
                String xdg = env.get("XDG_RUNTIME_DIR");
                if (Files.isDirectory(systemDir) && Files.isWritable(systemDir)) {
                    yield Optional.of(systemDir.resolve(FILE_NAME));
                } else if (xdg != null && !xdg.isEmpty()) {
                    yield Optional.of(Path.of(xdg, "weft", FILE_NAME));
                } else {
                    yield Optional.of(tmpDir.resolve("weft-" + user).resolve(FILE_NAME));
                }
            }
        };
    }

    /** {@code auto}, {@code off} or the path. */
    @Override
    public String toString() {
        return switch (mode) {
            case AUTO -> "auto";
            case OFF -> "off";
            case PATH -> path.toString();
        };
    }
}
