package io.weft.sdk;

import io.weft.api.v1.LogLevel;

/** The level of a {@link Context#log(Level, String) log} message (Python logging's names). */
public enum Level {
  /** Detail for debugging. */
  DEBUG(LogLevel.LOG_LEVEL_DEBUG),
  /** Normal operation. */
  INFO(LogLevel.LOG_LEVEL_INFO),
  /** Something unexpected that the program survived. */
  WARNING(LogLevel.LOG_LEVEL_WARNING),
  /** An operation failed. */
  ERROR(LogLevel.LOG_LEVEL_ERROR),
  /** The program may not go on. */
  CRITICAL(LogLevel.LOG_LEVEL_CRITICAL);

  private final LogLevel wire;

  Level(LogLevel wire) {
    this.wire = wire;
  }

  LogLevel wire() {
    return wire;
  }
}
