package io.weft.daemon.cli;

import io.weft.api.v1.HeaderMatch;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.ObjectState;
import io.weft.daemon.view.TopicMatcher;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** lcmon's selection options ({@code -r}, {@code -a}, {@code -x}) plus {@code --state}: an {@link ObjectFilter}. */
final class FilterOptions {

    /** How {@code -a} headers combine. */
    enum XMatch {
        ALL, ANY
    }

    /** Object states {@code --state} accepts. */
    enum State {
        LIVE(ObjectState.OBJECT_STATE_LIVE),
        FINISHED(ObjectState.OBJECT_STATE_FINISHED),
        TRANSIENT(ObjectState.OBJECT_STATE_TRANSIENT),
        EXPIRED(ObjectState.OBJECT_STATE_EXPIRED);

        private final ObjectState proto;

        State(ObjectState proto) {
            this.proto = proto;
        }
    }

    @Option(names = {"-r", "--rkey"}, arity = "1..*", paramLabel = "PATTERN",
            description = "Routing-key patterns, AMQP topic style: '*' matches one word, '#' zero or more;"
                    + " an object matching any pattern is shown. Default: every routing key.")
    List<String> routingKeys = new ArrayList<>();

    @Option(names = {"-a", "--arg"}, arity = "1..*", paramLabel = "NAME=VALUE",
            description = "Headers to match; 'NAME=' matches any value of NAME. Default: none (no header test).")
    List<String> headers = new ArrayList<>();

    @Option(names = {"-x", "--xmatch"}, paramLabel = "all|any",
            description = "How -a headers combine: all must match, or any one. Default: all.")
    XMatch xmatch = XMatch.ALL;

    @Option(names = "--state", paramLabel = "STATE",
            description = "Only objects in this state: live, finished, transient or expired; repeatable."
                    + " Default: every state.")
    List<State> states = new ArrayList<>();

    /**
     * The filter, validated the way the daemon validates it.
     *
     * @param spec the command, for usage errors
     * @return the filter
     * @throws CommandLine.ParameterException when a pattern or header is malformed (exit 2)
     */
    ObjectFilter toFilter(CommandLine.Model.CommandSpec spec) {
        try {
            TopicMatcher.compile(routingKeys);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-r: " + e.getMessage());
        }
        ObjectFilter.Builder f = ObjectFilter.newBuilder().addAllRoutingKeys(routingKeys);
        for (String h : headers) {
            int eq = h.indexOf('=');
            if (eq <= 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "-a expects NAME=VALUE ('NAME=' for any value), got '" + h + "'");
            }
            String name = h.substring(0, eq);
            if (f.containsHeaders(name)) {
                // A header has one value; with -x any, two values would silently become the last one.
                throw new CommandLine.ParameterException(spec.commandLine(), "-a gives header '" + name + "' twice");
            }
            f.putHeaders(name, h.substring(eq + 1));
        }
        f.setHeaderMatch(xmatch == XMatch.ANY ? HeaderMatch.HEADER_MATCH_ANY : HeaderMatch.HEADER_MATCH_ALL);
        states.forEach(s -> f.addStates(s.proto));
        return f.build();
    }
}
