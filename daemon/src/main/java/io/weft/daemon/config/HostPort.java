package io.weft.daemon.config;

import java.net.InetSocketAddress;

/**
 * A TCP address as configured: a host (name, IPv4 address, or IPv6 address without its
 * brackets) and a port; port 0 asks for an ephemeral port.
 *
 * @param host the host, IPv6 without brackets
 * @param port 0 to 65535
 */
public record HostPort(String host, int port) {

    /** The address to bind or connect to (resolves a host name). */
    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    /** {@code host:port}, or {@code [v6]:port} for an IPv6 address. */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
