package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.daemon.testing.WeftdProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Runs the README's grpcurl quick start, verbatim, against a real weftd: the commands between the
 * {@code <!-- quickstart:begin -->} and {@code <!-- quickstart:end -->} markers. The README cannot
 * drift from what the daemon does. The README's default address {@code 127.0.0.1:7311} is replaced
 * by the test daemon's ephemeral port. The test command installs grpcurl.
 */
class GrpcurlQuickStartIT {

    private static final Pattern BLOCK = Pattern.compile(
            "<!-- quickstart:begin -->\\s*```sh\\n(.*?)```\\s*<!-- quickstart:end -->", Pattern.DOTALL);

    @Test
    void shouldRunReadmeQuickStartWhenDaemonListensOnTcp() throws Exception {
        String readme = Files.readString(WeftdProcess.launcherDir().resolve("../../README.md").normalize());
        Matcher m = BLOCK.matcher(readme);
        assertTrue(m.find(), "README has a quickstart block");
        try (WeftdProcess weftd = WeftdProcess.builder().tcp(true).start()) {
            String script = m.group(1).replace("127.0.0.1:7311", "127.0.0.1:" + weftd.tcpPort());
            List<String> cmd = new ArrayList<>(List.of("bash", "-euo", "pipefail", "-c", script));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("PATH", grpcurlDir() + ":" + System.getenv("PATH"));
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("\"url\": \"http://example.com\""), out);
            assertTrue(out.contains("\"status\": 200"), out);
            assertTrue(out.contains("OBJECT_STATE_FINISHED"), out);
        }
    }

    @Test
    void shouldListServicesWhenGrpcurlUsesReflectionOnEitherListener() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().tcp(true).start()) {
            for (String target : List.of(weftd.target(), "127.0.0.1:" + weftd.tcpPort())) {
                ProcessBuilder pb = new ProcessBuilder("grpcurl", "-plaintext", target, "list")
                        .redirectErrorStream(true);
                pb.environment().put("PATH", grpcurlDir() + ":" + System.getenv("PATH"));
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), out);
                for (String service : List.of("weft.v1.ContextService", "weft.v1.ViewService",
                        "weft.v1.AdminService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection")) {
                    assertTrue(out.contains(service), target + " lists " + service + ":\n" + out);
                }
            }
        }
    }

    /** Where `go install` put grpcurl (the test command installs it). */
    static String grpcurlDir() throws IOException, InterruptedException {
        Process go = new ProcessBuilder("go", "env", "GOPATH").start();
        String gopath = new String(go.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        go.waitFor();
        Path bin = Paths.get(gopath, "bin");
        return bin.toString();
    }
}
