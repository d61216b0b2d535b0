package io.weft.daemon.peer;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * mTLS for peer links with BoringSSL (netty-tcnative): both sides present a certificate signed by
 * the configured CA, and a peer's daemon id is its certificate's subject CN.
 */
public final class PeerTls {

    private final SslContext server;
    private final SslContext client;

    private PeerTls(SslContext server, SslContext client) {
        this.server = server;
        this.client = client;
    }

    /**
     * Loads this daemon's certificate chain and PKCS#8 key and the CA.
     *
     * @throws IOException naming the file that cannot be used
     */
    public static PeerTls load(Path cert, Path key, Path ca) throws IOException {
        try {
            SslContext server = GrpcSslContexts.configure(
                    SslContextBuilder.forServer(cert.toFile(), key.toFile()).trustManager(ca.toFile())
                            .clientAuth(ClientAuth.REQUIRE), SslProvider.OPENSSL).build();
            SslContext client = GrpcSslContexts.configure(
                    SslContextBuilder.forClient().keyManager(cert.toFile(), key.toFile()).trustManager(ca.toFile()),
                    SslProvider.OPENSSL).build();
            return new PeerTls(server, client);
        } catch (IllegalArgumentException | javax.net.ssl.SSLException e) {
            throw new IOException("cannot use tls.cert " + cert + ", tls.key " + key + " (PKCS#8 PEM) and tls.ca " + ca
                    + ": " + e.getMessage(), e);
        }
    }

    public SslContext server() {
        return server;
    }

    public SslContext client() {
        return client;
    }

    /** The subject CN of the peer's certificate in {@code session}, or null when it has none. */
    public static String daemonIdOf(SSLSession session) {
        if (session == null) {
            return null;
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate x)) {
                return null;
            }
            for (Rdn rdn : new LdapName(x.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
            return null;
        } catch (SSLPeerUnverifiedException | InvalidNameException e) {
            return null;
        }
    }
}
