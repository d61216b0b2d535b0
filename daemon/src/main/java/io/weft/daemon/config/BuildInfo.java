package io.weft.daemon.config;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Facts about this build, read from the resource the build filters ({@code /weft-version.properties}). */
public final class BuildInfo {

    private static final String VERSION = load();

    private BuildInfo() {
    }

    /** The project version, e.g. {@code 0.1.0-SNAPSHOT}; {@code unknown} outside a packaged build. */
    public static String version() {
        return VERSION;
    }

    private static String load() {
        try (InputStream in = BuildInfo.class.getResourceAsStream("/weft-version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            String v = p.getProperty("version", "unknown");
            // Unfiltered (run from an IDE or a scratch build): the placeholder is not a version.
            return v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            return "unknown";
        }
    }
}
