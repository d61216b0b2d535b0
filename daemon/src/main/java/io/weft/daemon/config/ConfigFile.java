package io.weft.daemon.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The config file format: one {@code key = value} per line; blank lines and lines starting
 * with {@code #} are ignored; after a value, whitespace then {@code #} starts a comment.
 * A value may be written in double quotes (with {@code \"} and {@code \\} escapes) when it
 * contains {@code #} or {@code "}, or starts or ends with spaces.
 */
final class ConfigFile {

    /**
     * One {@code key = value} line.
     *
     * @param key the key as written
     * @param value the value, unquoted and trimmed
     * @param line 1-based line number
     */
    record Entry(String key, String value, int line) {
    }

    private ConfigFile() {
    }

    /**
     * Reads a file.
     *
     * @param path the file
     * @param errors receives one message per bad line or an unreadable file
     * @return the well-formed lines, in order
     */
    static List<Entry> read(Path path, List<String> errors) {
        List<String> lines;
        try {
            lines = Files.readAllLines(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            errors.add("config file " + path + " does not exist");
            return List.of();
        } catch (IOException e) {
            errors.add("config file " + path + " cannot be read: " + e);
            return List.of();
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = path + ":" + (i + 1) + ": ";
            int eq = line.indexOf('=');
            String key = eq < 0 ? "" : line.substring(0, eq).strip();
            if (key.isEmpty()) {
                errors.add(where + "expected \"key = value\"");
                continue;
            }
            try {
                entries.add(new Entry(key, value(line.substring(eq + 1).strip()), i + 1));
            } catch (IllegalArgumentException e) {
                errors.add(where + e.getMessage());
            }
        }
        return entries;
    }

    /**
     * Writes a value so that {@link #read} gives it back: as is, or quoted when needed.
     *
     * @param value a value
     * @return its text in a file
     */
    static String quote(String value) {
        boolean plain = !value.isEmpty() && value.strip().equals(value)
                && value.indexOf('#') < 0 && value.indexOf('"') < 0;
        if (plain) {
            return value;
        }
        return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String value(String text) {
        if (!text.startsWith("\"")) {
            int comment = commentStart(text);
            return (comment < 0 ? text : text.substring(0, comment)).strip();
        }
        StringBuilder out = new StringBuilder();
        for (int i = 1; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 1 < text.length()) {
                out.append(text.charAt(++i));
            } else if (c == '"') {
                String rest = text.substring(i + 1).strip();
                if (!rest.isEmpty() && !rest.startsWith("#")) {
                    throw new IllegalArgumentException("unexpected text after the closing quote: " + rest);
                }
                return out.toString();
            } else {
                out.append(c);
            }
        }
        throw new IllegalArgumentException("missing closing quote");
    }

    /** Index of a {@code #} that starts the text or follows whitespace, or -1. */
    private static int commentStart(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '#' && (i == 0 || Character.isWhitespace(text.charAt(i - 1)))) {
                return i;
            }
        }
        return -1;
    }
}
