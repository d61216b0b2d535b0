package io.weft.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SystemdNotifierTest {

    @Test
    void shouldUsePathWhenNotifySocketIsAbsolute() {
        assertEquals("/run/systemd/notify", SystemdNotifier.parseAddress("/run/systemd/notify").path());
    }

    @Test
    void shouldUseAbstractNamespaceWhenNotifySocketStartsWithAt() {
        assertEquals("\0org/freedesktop/systemd1/notify/123",
                SystemdNotifier.parseAddress("@org/freedesktop/systemd1/notify/123").path());
    }

    @Test
    void shouldRejectAddressWhenItIsNeitherPathNorAbstractName() {
        for (String bad : new String[] {"run/notify", "vsock:2:1234", "@", "/", "/" + "x".repeat(107)}) {
            assertThrows(IllegalArgumentException.class, () -> SystemdNotifier.parseAddress(bad), bad);
        }
    }

    @Test
    void shouldAcceptLongestPathThatFitsSunPath() {
        String path = "/" + "x".repeat(106);
        assertEquals(path, SystemdNotifier.parseAddress(path).path());
    }

    @Test
    void shouldDoNothingWhenNotStartedBySystemd() {
        try (SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of())) {
            assertFalse(n.enabled());
            n.ready("serving");
            n.reloading();
            n.stopping(java.time.Duration.ofSeconds(1));
        }
    }

    @Test
    void shouldDisableItselfWhenNotifySocketIsUnusable() {
        try (SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", "relative"))) {
            assertFalse(n.enabled());
        }
    }
}
