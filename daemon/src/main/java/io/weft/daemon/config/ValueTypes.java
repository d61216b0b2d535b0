package io.weft.daemon.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The value types settings use. Every type here is immutable and stateless. */
public final class ValueTypes {

    private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h)");
    private static final Pattern BYTES = Pattern.compile("(\\d{1,19})(KiB|MiB|GiB|TiB|B)?");
    private static final Pattern INT = Pattern.compile("-?\\d{1,10}");
    private static final Pattern MODE = Pattern.compile("0?[0-7]{3}");
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?");
    private static final Pattern TOPIC_PATTERN = Pattern.compile("([A-Za-z0-9_-]+|\\*|#)(\\.([A-Za-z0-9_-]+|\\*|#))*");
    /** An exchange name; "amq." names are RabbitMQ's own. */
    private static final Pattern EXCHANGE = Pattern.compile("(?!amq\\.)[A-Za-z0-9._:-]{1,255}");
    private static final Pattern DAEMON_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");

    /** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
    static final int MAX_SOCKET_PATH_BYTES = 107;

    private static final long KIB = 1024;

    private ValueTypes() {
    }

    /**
     * A duration written with a unit: {@code 250ms}, {@code 5s}, {@code 2m}, {@code 1h}.
     *
     * @param min the smallest accepted
     * @param max the largest accepted
     * @return the type
     */
    public static ValueType<Duration> duration(Duration min, Duration max) {
        return new ValueType<>() {
            @Override
            public Duration parse(String raw) {
                Matcher m = DURATION.matcher(raw);
                if (!m.matches()) {
                    if (INT.matcher(raw).matches()) {
                        throw new IllegalArgumentException("a duration needs a unit: " + raw + "ms, " + raw + "s, "
                                + raw + "m or " + raw + "h");
                    }
                    throw new IllegalArgumentException("expected a duration like 250ms, 5s, 2m or 1h");
                }
                long n = Long.parseLong(m.group(1));
                Duration d = switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    default -> Duration.ofHours(n);
                };
                if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                    throw new IllegalArgumentException("must be between " + format(min) + " and " + format(max));
                }
                return d;
            }

            @Override
            public String format(Duration d) {
                long ms = d.toMillis();
                if (ms % 3_600_000 == 0 && ms != 0) {
                    return ms / 3_600_000 + "h";
                } else if (ms % 60_000 == 0 && ms != 0) {
                    return ms / 60_000 + "m";
                } else if (ms % 1000 == 0) {
                    return ms / 1000 + "s";
                }
                return ms + "ms";
            }

            @Override
            public String describe() {
                return "duration, " + format(min) + ".." + format(max);
            }
        };
    }

    /**
     * A size in bytes: plain bytes, or with a binary unit ({@code KiB}, {@code MiB},
     * {@code GiB}, {@code TiB}; {@code B} is allowed).
     *
     * @param min the smallest accepted
     * @param max the largest accepted
     * @return the type
     */
    public static ValueType<Long> bytes(long min, long max) {
        return new ValueType<>() {
            @Override
            public Long parse(String raw) {
                Matcher m = BYTES.matcher(raw);
                if (!m.matches()) {
                    throw new IllegalArgumentException("expected a size like 1MiB, 64KiB or a number of bytes");
                }
                long unit = unit(m.group(2));
                long n;
                try {
                    n = Math.multiplyExact(Long.parseLong(m.group(1)), unit);
                } catch (ArithmeticException | NumberFormatException e) {
                    n = Long.MAX_VALUE;
                }
                if (n < min || n > max) {
                    throw new IllegalArgumentException("must be between " + format(min) + " and " + format(max));
                }
                return n;
            }

            @Override
            public String format(Long n) {
                for (String u : new String[] {"TiB", "GiB", "MiB", "KiB"}) {
                    long unit = unit(u);
                    if (n != 0 && n % unit == 0) {
                        return n / unit + u;
                    }
                }
                return Long.toString(n);
            }

            @Override
            public String describe() {
                return "size, " + format(min) + ".." + format(max);
            }
        };
    }

    private static long unit(String suffix) {
        if (suffix == null) {
            return 1;
        }
        return switch (suffix) {
            case "KiB" -> KIB;
            case "MiB" -> KIB * KIB;
            case "GiB" -> KIB * KIB * KIB;
            case "TiB" -> KIB * KIB * KIB * KIB;
            default -> 1;
        };
    }

    /**
     * A whole number in a range.
     *
     * @param min the smallest accepted
     * @param max the largest accepted
     * @return the type
     */
    public static ValueType<Integer> integer(int min, int max) {
        return new ValueType<>() {
            @Override
            public Integer parse(String raw) {
                String digits = raw.replace("_", "");
                if (!INT.matcher(digits).matches()) {
                    throw new IllegalArgumentException("expected a whole number between " + min + " and " + max);
                }
                long n = Long.parseLong(digits);
                if (n < min || n > max) {
                    throw new IllegalArgumentException("must be between " + min + " and " + max);
                }
                return (int) n;
            }

            @Override
            public String format(Integer n) {
                return Integer.toString(n);
            }

            @Override
            public String describe() {
                return "integer, " + min + ".." + max;
            }
        };
    }

    /**
     * {@code host:port} ({@code [v6]:port} for IPv6; port 0 = ephemeral) or {@code off}.
     *
     * @return the type; {@code off} is empty
     */
    public static ValueType<Optional<HostPort>> hostPortOrOff() {
        final String expected = "expected host:port (e.g. 127.0.0.1:7311 or [::1]:7311) or \"off\"";
        return new ValueType<>() {
            @Override
            public Optional<HostPort> parse(String raw) {
                if (raw.equals("off")) {
                    return Optional.empty();
                }
                int colon = raw.lastIndexOf(':');
                if (colon <= 0 || colon == raw.length() - 1) {
                    throw new IllegalArgumentException(expected);
                }
                String host = raw.substring(0, colon);
                String portText = raw.substring(colon + 1);
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                    if (host.isEmpty() || !host.matches("[0-9A-Fa-f:.]+")) {
                        throw new IllegalArgumentException(expected);
                    }
                } else if (!HOST_NAME.matcher(host).matches()) {
                    throw new IllegalArgumentException(expected);
                }
                if (!portText.matches("\\d{1,5}") || Integer.parseInt(portText) > 65535) {
                    throw new IllegalArgumentException("port must be a number from 0 to 65535 (0 = any free port)");
                }
                return Optional.of(new HostPort(host, Integer.parseInt(portText)));
            }

            @Override
            public String format(Optional<HostPort> v) {
                return v.map(HostPort::toString).orElse("off");
            }

            @Override
            public String describe() {
                return "host:port or off";
            }
        };
    }

    /**
     * {@code on} or {@code off}.
     *
     * @return the type
     */
    public static ValueType<Boolean> onOff() {
        return new ValueType<>() {
            @Override
            public Boolean parse(String raw) {
                if (raw.equals("on")) {
                    return true;
                }
                if (raw.equals("off")) {
                    return false;
                }
                throw new IllegalArgumentException("expected \"on\" or \"off\"");
            }

            @Override
            public String format(Boolean v) {
                return v ? "on" : "off";
            }

            @Override
            public String describe() {
                return "on or off";
            }
        };
    }

    /**
     * A comma-separated list of field names (1 to 128 characters without control characters or
     * commas, at most {@code max} of them) or {@code off} for none.
     *
     * @param max the most names accepted
     * @return the type; {@code off} is the empty list
     */
    public static ValueType<List<String>> namesOrOff(int max) {
        return new ValueType<>() {
            @Override
            public List<String> parse(String raw) {
                if (raw.equals("off")) {
                    return List.of();
                }
                List<String> out = new ArrayList<>();
                for (String part : raw.split(",", -1)) {
                    String name = part.trim();
                    if (name.isEmpty() || name.length() > 128 || name.chars().anyMatch(Character::isISOControl)) {
                        throw new IllegalArgumentException("expected comma-separated names of 1 to 128 characters,"
                                + " or \"off\"");
                    }
                    if (!out.contains(name)) {
                        out.add(name);
                    }
                }
                if (out.size() > max) {
                    throw new IllegalArgumentException("at most " + max + " names");
                }
                return List.copyOf(out);
            }

            @Override
            public String format(List<String> v) {
                return v.isEmpty() ? "off" : String.join(",", v);
            }

            @Override
            public String describe() {
                return "comma-separated names (at most " + max + ") or off";
            }
        };
    }

    /**
     * A file path or {@code off}.
     *
     * @return the type; {@code off} is empty
     */
    public static ValueType<Optional<Path>> pathOrOff() {
        return new ValueType<>() {
            @Override
            public Optional<Path> parse(String raw) {
                if (raw.equals("off")) {
                    return Optional.empty();
                }
                return Optional.of(path(raw, "expected a file path or \"off\""));
            }

            @Override
            public String format(Optional<Path> v) {
                return v.map(Path::toString).orElse("off");
            }

            @Override
            public String describe() {
                return "path or off";
            }
        };
    }

    /**
     * The unix socket: an absolute path of at most 107 bytes, {@code off} or {@code auto}.
     *
     * @return the type
     */
    public static ValueType<SocketLocation> socket() {
        final String expected = "expected an absolute path, \"auto\" or \"off\"";
        return new ValueType<>() {
            @Override
            public SocketLocation parse(String raw) {
                if (raw.equals("auto")) {
                    return SocketLocation.AUTO;
                }
                if (raw.equals("off")) {
                    return SocketLocation.OFF;
                }
                Path p = path(raw, expected);
                if (!p.isAbsolute()) {
                    throw new IllegalArgumentException(expected);
                }
                int bytes = raw.getBytes(StandardCharsets.UTF_8).length;
                if (bytes > MAX_SOCKET_PATH_BYTES) {
                    throw new IllegalArgumentException("a unix socket path is at most " + MAX_SOCKET_PATH_BYTES
                            + " bytes; this one is " + bytes);
                }
                return new SocketLocation(SocketLocation.Mode.PATH, p);
            }

            @Override
            public String format(SocketLocation v) {
                return v.toString();
            }

            @Override
            public String describe() {
                return "absolute path, auto or off";
            }
        };
    }

    /**
     * Unix permission bits in octal, e.g. {@code 0660}.
     *
     * @return the type
     */
    public static ValueType<Integer> fileMode() {
        return new ValueType<>() {
            @Override
            public Integer parse(String raw) {
                if (!MODE.matcher(raw).matches()) {
                    throw new IllegalArgumentException("expected octal permission bits like 0660");
                }
                return Integer.parseInt(raw, 8);
            }

            @Override
            public String format(Integer v) {
                return String.format(Locale.ROOT, "0%03o", v);
            }

            @Override
            public String describe() {
                return "octal mode";
            }
        };
    }

    /**
     * The log level: {@code debug}, {@code info}, {@code warn} or {@code error}.
     *
     * @return the type
     */
    public static ValueType<LogLevel> logLevel() {
        return new ValueType<>() {
            @Override
            public LogLevel parse(String raw) {
                for (LogLevel l : LogLevel.values()) {
                    if (l.configName().equals(raw.toLowerCase(Locale.ROOT))) {
                        return l;
                    }
                }
                throw new IllegalArgumentException("expected debug, info, warn or error");
            }

            @Override
            public String format(LogLevel v) {
                return v.configName();
            }

            @Override
            public String describe() {
                return "debug|info|warn|error";
            }
        };
    }

    /**
     * A daemon id: letters, digits, '.', '_' and '-', starting with a letter or digit, at
     * most 253 characters (a host name fits).
     *
     * @return the type
     */
    public static ValueType<String> daemonId() {
        return name(DAEMON_ID, "expected letters, digits, '.', '_' or '-' (at most 253, starting with a letter or digit)");
    }

    /** A text matching {@code pattern}; {@code expected} says what is accepted. */
    private static ValueType<String> name(Pattern pattern, String expected) {
        return new ValueType<>() {
            @Override
            public String parse(String raw) {
                if (!pattern.matcher(raw).matches()) {
                    throw new IllegalArgumentException(expected);
                }
                return raw;
            }

            @Override
            public String format(String v) {
                return v;
            }

            @Override
            public String describe() {
                return "name";
            }
        };
    }

    /**
     * One of an enum's constants, written in lower case ({@code spool}).
     *
     * @param type the enum
     * @param <E> the enum type
     * @return the type
     */
    public static <E extends Enum<E>> ValueType<E> choice(Class<E> type) {
        List<String> names = Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).toList();
        return new ValueType<>() {
            @Override
            public E parse(String raw) {
                int i = names.indexOf(raw);
                if (i < 0) {
                    throw new IllegalArgumentException("expected one of " + String.join(", ", names));
                }
                return type.getEnumConstants()[i];
            }

            @Override
            public String format(E v) {
                return v.name().toLowerCase(Locale.ROOT);
            }

            @Override
            public String describe() {
                return String.join(" or ", names);
            }
        };
    }

    /**
     * AMQP URLs, comma-separated (the nodes of one RabbitMQ cluster), or {@code off}.
     *
     * @return the type; {@code off} is the empty list
     */
    public static ValueType<List<URI>> amqpUrlsOrOff() {
        final String expected = "expected amqp://user:pass@host:port/vhost URLs, comma-separated, or \"off\"";
        return new ValueType<>() {
            @Override
            public List<URI> parse(String raw) {
                if (raw.equals("off")) {
                    return List.of();
                }
                List<URI> urls = new ArrayList<>();
                for (String part : raw.split(",", -1)) {
                    String text = part.strip();
                    URI uri;
                    try {
                        uri = new URI(text);
                    } catch (URISyntaxException e) {
                        throw new IllegalArgumentException(expected + "; \"" + text + "\" is not a URL", e);
                    }
                    if (!"amqp".equals(uri.getScheme()) && !"amqps".equals(uri.getScheme()) || uri.getHost() == null) {
                        throw new IllegalArgumentException(expected + "; \"" + text + "\" is not an amqp:// URL");
                    }
                    urls.add(uri);
                }
                return List.copyOf(urls);
            }

            @Override
            public String format(List<URI> v) {
                return v.isEmpty() ? "off" : String.join(",", v.stream().map(URI::toString).toList());
            }

            @Override
            public String describe() {
                return "amqp URLs or off";
            }
        };
    }

    /**
     * An AMQP exchange name: letters, digits, '.', '_', ':' and '-', 1 to 255 of them.
     *
     * @return the type
     */
    public static ValueType<String> exchangeName() {
        return name(EXCHANGE, "expected letters, digits, '.', '_', ':' or '-' (1 to 255), not starting with \"amq.\"");
    }

    /**
     * AMQP topic patterns, comma-separated ({@code shop.#,auth.*}), or {@code off}.
     *
     * @return the type; the text as written, {@code off} included
     */
    public static ValueType<String> patternsOrOff() {
        return new ValueType<>() {
            @Override
            public String parse(String raw) {
                if (raw.equals("off")) {
                    return raw;
                }
                for (String p : raw.split(",", -1)) {
                    if (!TOPIC_PATTERN.matcher(p.strip()).matches()) {
                        throw new IllegalArgumentException("expected routing-key patterns such as shop.# or a.*.c,"
                                + " comma-separated, or \"off\"; \"" + p.strip() + "\" is not one");
                    }
                }
                return raw;
            }

            @Override
            public String format(String v) {
                return v;
            }

            @Override
            public String describe() {
                return "patterns or off";
            }
        };
    }

    private static Path path(String raw, String expected) {
        if (raw.isEmpty() || raw.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(expected);
        }
        try {
            return Path.of(raw);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(expected, e);
        }
    }

    /**
     * Comma-separated {@code host:port} addresses (the peers to dial), or {@code off}.
     *
     * @return the type; {@code off} is the empty list
     */
    public static ValueType<List<HostPort>> hostPortsOrOff() {
        ValueType<Optional<HostPort>> one = hostPortOrOff();
        return new ValueType<>() {
            @Override
            public List<HostPort> parse(String raw) {
                if (raw.equals("off") || raw.isBlank()) {
                    return List.of();
                }
                List<HostPort> out = new java.util.ArrayList<>();
                for (String part : raw.split(",")) {
                    Optional<HostPort> hp = one.parse(part.strip());
                    if (hp.isEmpty() || hp.get().port() == 0) {
                        throw new IllegalArgumentException("expected host:port addresses with real ports, comma-separated,"
                                + " or \"off\"");
                    }
                    out.add(hp.get());
                }
                return List.copyOf(out);
            }

            @Override
            public String format(List<HostPort> v) {
                return v.isEmpty() ? "off" : String.join(",", v.stream().map(HostPort::toString).toList());
            }

            @Override
            public String describe() {
                return "host:port,... or off";
            }
        };
    }
}
