package io.weft.daemon.cli;

import io.weft.api.v1.ContextObject;
import io.weft.api.v1.Projection;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** lcmon's shaping options ({@code -k}, {@code -t}, {@code -z}, {@code -p}, {@code -v}). */
final class OutputOptions {

    @Option(names = {"-k", "--keys"}, arity = "1..*", paramLabel = "KEY",
            description = "Keys to extract, searched breadth-first through nested objects and lists, top level"
                    + " first; the first match wins. '*KEY' (quote it for the shell) returns every match as a"
                    + " list. Default: all fields.")
    List<String> keys = new ArrayList<>();

    @Option(names = {"-t", "--trim"}, arity = "1..*", paramLabel = "KEY",
            description = "Keys to remove wherever they occur (applied before -k). Default: none.")
    List<String> trim = new ArrayList<>();

    @Option(names = {"-z", "--drop-empty"},
            description = "Remove null, \"\", [] and {} values, recursively (applied after -k). Default: off.")
    boolean dropEmpty;

    @Option(names = {"-p", "--pretty"}, description = "Indent the JSON over several lines. Default: one line per object.")
    boolean pretty;

    @Option(names = {"-v", "--verbose"},
            description = "Print each object in an envelope: id, rkey, daemon, headers, state, partial, start,"
                    + " updated, end, elapsed, seq, events, message, with the fields under obj; each message"
                    + " (weft mon) as routing_key, headers and the body under object, which -s reads back."
                    + " Default: the fields only (the body only).")
    boolean verbose;

    /** The projection the daemon applies to the fields. */
    Projection toProjection() {
        return Projection.newBuilder().addAllKeys(keys).addAllTrim(trim).setDropEmpty(dropEmpty).build();
    }

    /**
     * Renders one object as chosen.
     *
     * @param object an object, already projected by the daemon
     * @return its JSON text
     */
    String render(ContextObject object) {
        return ObjectJson.render(object, verbose, pretty);
    }
}
