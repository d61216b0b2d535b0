package io.weft.daemon.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A test CA and per-daemon certificates made with {@code openssl} (EC P-256, PKCS#8 keys): the
 * subject CN is the daemon id, the SAN covers 127.0.0.1 and localhost.
 */
public final class Certs {

    private final Path dir;

    private Certs(Path dir) {
        this.dir = dir;
    }

    /** Makes a fresh CA in a temp directory. */
    public static Certs create() throws IOException {
        Path dir = Files.createTempDirectory("weft-certs-");
        Certs c = new Certs(dir);
        c.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=weft-test-ca");
        Files.writeString(dir.resolve("ext.cnf"),
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
        return c;
    }

    /** The CA certificate. */
    public Path ca() {
        return dir.resolve("ca.pem");
    }

    /** Makes (once) a certificate whose CN is {@code cn}; returns the environment that uses it. */
    public Map<String, String> env(String cn) throws IOException {
        Path cert = dir.resolve(cn + ".pem");
        if (!Files.exists(cert)) {
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", cn + ".key", "-out", cn + ".csr", "-subj", "/CN=" + cn);
            openssl("x509", "-req", "-in", cn + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", cn + ".pem", "-days", "2", "-extfile", "ext.cnf");
        }
        return Map.of("WEFT_TLS_CERT", cert.toString(), "WEFT_TLS_KEY", key(cn).toString(),
                "WEFT_TLS_CA", ca().toString());
    }

    /** The PKCS#8 key of {@code cn}'s certificate. */
    public Path key(String cn) {
        return dir.resolve(cn + ".key");
    }

    /** The certificate of {@code cn}. */
    public Path cert(String cn) {
        return dir.resolve(cn + ".pem");
    }

    private void openssl(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("openssl " + String.join(" ", args) + " failed:\n" + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
