package io.weft.daemon.config;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * One setting of the catalog ({@link Settings}): its dotted key, environment variable,
 * default, description, whether SIGHUP reloads it, and its value type.
 *
 * <p>The key is also the config-file key and, with {@code --} in front, the flag. The
 * environment variable is {@code WEFT_} plus the key upper-cased with {@code .} and
 * {@code -} turned into {@code _} ({@link #envNameFor}).
 *
 * @param <T> the value type
 */
public final class Setting<T> {

    private final String key;
    private final String env;
    private final ValueType<T> type;
    private final Supplier<String> defaultText;
    private final String description;
    private final boolean reloadable;
    private final boolean computedDefault;

    private Setting(String key, ValueType<T> type, Supplier<String> defaultText, String description,
            boolean reloadable, boolean computedDefault) {
        this.key = key;
        this.env = envNameFor(key);
        this.type = type;
        this.defaultText = defaultText;
        this.description = description;
        this.reloadable = reloadable;
        this.computedDefault = computedDefault;
    }

    /**
     * A setting that needs a restart to change.
     *
     * @param key dotted key
     * @param type value type
     * @param defaultText the default, as it would be written in the file
     * @param description one line for {@code --help}
     * @param <T> value type
     * @return the setting
     */
    static <T> Setting<T> of(String key, ValueType<T> type, String defaultText, String description) {
        return new Setting<>(key, type, () -> defaultText, description, false, false);
    }

    /**
     * A setting whose default is computed when the configuration is loaded.
     *
     * @param key dotted key
     * @param type value type
     * @param defaultText computes the default, as it would be written in the file
     * @param description one line for {@code --help}
     * @param <T> value type
     * @return the setting
     */
    static <T> Setting<T> computed(String key, ValueType<T> type, Supplier<String> defaultText, String description) {
        return new Setting<>(key, type, defaultText, description, false, true);
    }

    /**
     * A setting SIGHUP reloads.
     *
     * @param key dotted key
     * @param type value type
     * @param defaultText the default, as it would be written in the file
     * @param description one line for {@code --help}
     * @param <T> value type
     * @return the setting
     */
    static <T> Setting<T> reloadable(String key, ValueType<T> type, String defaultText, String description) {
        return new Setting<>(key, type, () -> defaultText, description, true, false);
    }

    /**
     * The environment variable for a key: {@code WEFT_} + the key upper-cased, with
     * {@code .} and {@code -} turned into {@code _}.
     *
     * @param key a dotted key
     * @return e.g. {@code WEFT_INBOUND_CLIENT_QUOTA} for {@code inbound.client-quota}
     */
    public static String envNameFor(String key) {
        return "WEFT_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** The dotted key, e.g. {@code inbound.client-quota}. */
    public String key() {
        return key;
    }

    /** The environment variable, e.g. {@code WEFT_INBOUND_CLIENT_QUOTA}. */
    public String env() {
        return env;
    }

    /** The flag, e.g. {@code --inbound.client-quota}. */
    public String flag() {
        return "--" + key;
    }

    /** The value type. */
    public ValueType<T> type() {
        return type;
    }

    /** The default as written in a file (computed now for computed defaults). */
    public String defaultText() {
        return defaultText.get();
    }

    /** True when the default depends on the host (e.g. the host name); its description says how. */
    public boolean computedDefault() {
        return computedDefault;
    }

    /** One line for {@code --help}. */
    public String description() {
        return description;
    }

    /** True when SIGHUP applies a new value without a restart. */
    public boolean reloadable() {
        return reloadable;
    }

    @Override
    public String toString() {
        return key;
    }
}
