package io.weft.daemon.log;

import java.util.logging.LogManager;

/**
 * A LogManager that survives JVM shutdown. The stock one resets (closes) every handler from its own
 * shutdown hook, racing weftd's SIGTERM drain, so the drain's log lines would be lost. The
 * launchers select it with {@code -Djava.util.logging.manager}; {@link Logs#configure} still resets
 * explicitly at start-up.
 */
public final class DaemonLogManager extends LogManager {

    private volatile boolean configured;

    @Override
    public void reset() {
        if (!configured) {
            super.reset();
        }
    }

    /** Called once handlers are installed: from then on only the process's end closes them. */
    void markConfigured() {
        configured = true;
    }
}
