package io.weft.daemon.log;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * One line per event, logfmt: {@code ts=... level=INFO logger=broker msg="..." key=value}. Weft's
 * own messages are already written as {@code msg=... key=value}; any other text (from libraries)
 * is quoted into {@code msg}. A throwable becomes {@code error="..."} with its stack on the same
 * line, so journald keeps one record per event.
 */
public final class LogFormat extends Formatter {

    @Override
    public String format(LogRecord r) {
        StringBuilder sb = new StringBuilder(160);
        sb.append("ts=").append(Instant.ofEpochMilli(r.getMillis()))
                .append(" level=").append(levelName(r.getLevel()))
                .append(" logger=").append(r.getLoggerName() == null ? "-" : r.getLoggerName())
                .append(' ');
        String msg = formatMessage(r);
        if (msg.startsWith("msg=")) {
            sb.append(msg);
        } else {
            sb.append("msg=").append(quote(msg));
        }
        if (r.getThrown() != null) {
            StringWriter sw = new StringWriter();
            r.getThrown().printStackTrace(new PrintWriter(sw));
            sb.append(" error=").append(quote(sw.toString()));
        }
        return sb.append('\n').toString();
    }

    /** Quotes a value for logfmt when it needs it; newlines become {@code \n}. */
    public static String quote(String v) {
        boolean plain = !v.isEmpty();
        for (int i = 0; i < v.length() && plain; i++) {
            char c = v.charAt(i);
            plain = c > ' ' && c != '"' && c != '=' && c != '\\';
        }
        if (plain) {
            return v;
        }
        return '"' + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\r", "") + '"';
    }

    private static String levelName(Level l) {
        if (l.intValue() >= Level.SEVERE.intValue()) {
            return "ERROR";
        }
        if (l.intValue() >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (l.intValue() >= Level.INFO.intValue()) {
            return "INFO";
        }
        return "DEBUG";
    }
}
