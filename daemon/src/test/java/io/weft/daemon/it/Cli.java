package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.daemon.testing.WeftdProcess;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the {@code weft} launcher against a daemon, as a user would (WEFT_ADDR, no other WEFT_ variables). */
final class Cli {

    /** What one run did. */
    record Run(int code, String out, String err) {}

    private Cli() {}

    static Run weft(WeftdProcess d, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(WeftdProcess.launcherDir().resolve("weft").toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("WEFT_"));
        pb.environment().put("WEFT_ADDR", d.target());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out, err);
    }
}
