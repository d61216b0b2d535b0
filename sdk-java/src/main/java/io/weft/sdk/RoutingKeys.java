package io.weft.sdk;

import io.weft.api.v1.ErrorReason;
import java.util.Set;

/**
 * Routing keys: dot-separated words of {@code [A-Za-z0-9_-]}, at most 255 bytes.
 *
 * <p>When a context is created without one, the key is derived from the calling class, as
 * Contexture derived it from the module: {@code com.example.web.Handler$Inner} becomes
 * {@code com.example.web.Handler_Inner} (every character outside the word alphabet becomes
 * {@code _}).
 */
final class RoutingKeys {
  static final int MAX_BYTES = 255;
  private static final String FALLBACK = "app";
  private static final StackWalker WALKER =
      StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

  private RoutingKeys() {}

  /** Returns the key unchanged, or throws {@link WeftException} INVALID_ROUTING_KEY. */
  static String validate(String key) {
    if (key == null || key.isEmpty() || key.length() > MAX_BYTES) {
      throw invalid(key, "must be 1 to " + MAX_BYTES + " bytes");
    }
    boolean wordStart = true;
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c == '.') {
        if (wordStart) {
          throw invalid(key, "has an empty word");
        }
        wordStart = true;
      } else if (isWordChar(c)) {
        wordStart = false;
      } else {
        throw invalid(key, "has '" + c + "' outside [A-Za-z0-9_-]");
      }
    }
    if (wordStart) {
      throw invalid(key, "has an empty word");
    }
    return key;
  }

  /** The key derived from the first stack frame whose class is not one of {@code sdkClasses}. */
  static String fromCaller(Set<Class<?>> sdkClasses) {
    return WALKER.walk(
        frames ->
            frames
                .map(StackWalker.StackFrame::getDeclaringClass)
                .filter(c -> c != RoutingKeys.class && !sdkClasses.contains(c))
                .findFirst()
                .map(c -> fromClassName(c.getName()))
                .orElse(FALLBACK));
  }

  /** A valid key from a class name: bad characters become {@code _}, empty words vanish. */
  static String fromClassName(String className) {
    StringBuilder key = new StringBuilder(className.length());
    for (String word : className.split("\\.")) {
      if (word.isEmpty()) {
        continue;
      }
      int wordStart = key.length() == 0 ? 0 : key.length() + 1;
      if (wordStart + word.length() > MAX_BYTES) {
        break; // keep whole words only
      }
      if (key.length() > 0) {
        key.append('.');
      }
      for (int i = 0; i < word.length(); i++) {
        char c = word.charAt(i);
        key.append(isWordChar(c) ? c : '_');
      }
    }
    return key.length() == 0 ? FALLBACK : key.toString();
  }

  private static boolean isWordChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '_'
        || c == '-';
  }

  private static WeftException invalid(String key, String why) {
    return WeftException.invalid(
        ErrorReason.ERROR_REASON_INVALID_ROUTING_KEY, "routing key '" + key + "' " + why);
  }
}
