package io.weft.daemon.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the external tools the HTTP tests check against: Prometheus parsers and headless Chromium. */
final class Tools {

    /** The prometheus_client version the metrics test parses with. */
    static final String PROMETHEUS_CLIENT = "prometheus_client==0.26.0";
    private static final Path VENV = Path.of("target", "prometheus-venv").toAbsolutePath();

    private Tools() {
    }

    /** How a command ended. */
    record Result(int exit, String output) {}

    /** The output of a command; fails the test when it exits non-zero or runs past the timeout. */
    static String run(Duration timeout, String stdin, List<String> command) throws IOException, InterruptedException {
        Result r = runAny(timeout, stdin, command);
        if (r.exit() != 0) {
            throw new AssertionError(command + " exited " + r.exit() + ":\n" + r.output());
        }
        return r.output();
    }

    /** The exit code and output of a command; fails the test when it runs past the timeout. */
    static Result runAny(Duration timeout, String stdin, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("tool-", ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " ran longer than " + timeout + ":\n" + Files.readString(out));
        }
        String text = Files.readString(out);
        Files.delete(out);
        return new Result(p.exitValue(), text);
    }

    /** A Python with prometheus_client: a venv under target/, created on first use (pip from PyPI). */
    static Path prometheusPython() throws IOException, InterruptedException {
        Path python = VENV.resolve("bin/python");
        if (!Files.exists(VENV.resolve(".ready"))) {
            run(Duration.ofMinutes(2), null, List.of("python3", "-m", "venv", VENV.toString()));
            run(Duration.ofMinutes(5), null, List.of(python.toString(), "-m", "pip", "install", "-q", PROMETHEUS_CLIENT));
            Files.writeString(VENV.resolve(".ready"), PROMETHEUS_CLIENT);
        }
        return python;
    }

    /** A program on the PATH or in /usr/bin; fails the test naming how to install it when absent. */
    static String require(String program, String debianPackage) {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return Path.of(dir, program).toString();
            }
        }
        throw new AssertionError(program + " is not installed: apt-get install -y " + debianPackage
                + " (./test-all does it)");
    }

    /** GET a path of the daemon's HTTP listener. */
    static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return get(port, path, "GET");
    }

    static HttpResponse<String> get(int port, String path, String method) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(10))
                .build();
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString());
    }
}
