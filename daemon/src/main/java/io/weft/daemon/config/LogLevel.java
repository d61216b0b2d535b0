package io.weft.daemon.config;

import java.util.Locale;

/** The daemon's log level ({@code log.level}), least severe first. */
public enum LogLevel {
    DEBUG, INFO, WARN, ERROR;

    /** The name as written in configuration: lower case. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
