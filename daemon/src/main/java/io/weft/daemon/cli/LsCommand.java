package io.weft.daemon.cli;

import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ListObjectsRequest;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.Source;
import io.weft.api.v1.ViewServiceGrpc;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code weft ls}: ViewService.ListObjects, following pages up to {@code --limit}. */
@Command(name = "ls",
        description = {"List collated objects, live ones first, one JSON object per line (see -v for the envelope).",
            "Example: weft ls -r 'web.#' -a env=prod -k url '*elapsed' -z"})
final class LsCommand implements Callable<Integer> {

    /** The most ListObjects returns per page. */
    static final int MAX_PAGE_SIZE = 1000;

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    FilterOptions filter;

    @Mixin
    OutputOptions output;

    @Option(names = "--fleet",
            description = "Read the daemon's fleet view (objects of every host, from the bus; needs bus.fleet on the"
                    + " daemon). Default: this host's objects.")
    boolean fleet;

    @Option(names = {"-n", "--limit"}, paramLabel = "N", defaultValue = "100",
            description = "Show at most N objects, following the daemon's pages; 0 = all. Default: ${DEFAULT-VALUE}.")
    int limit;

    @Override
    public Integer call() {
        ListObjectsRequest request = request();
        PrintWriter out = spec.commandLine().getOut();
        try (WeftCli.Connection c = cli.connect()) {
            ViewServiceGrpc.ViewServiceBlockingStub view = ViewServiceGrpc.newBlockingStub(c.channel());
            int shown = 0;
            String token = "";
            do {
                int page = limit == 0 ? MAX_PAGE_SIZE : Math.min(MAX_PAGE_SIZE, limit - shown);
                ListObjectsResponse r = view.withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS)
                        .listObjects(request.toBuilder().setPageSize(page).setPageToken(token).build());
                for (ContextObject o : r.getObjectsList()) {
                    if (limit != 0 && shown == limit) {
                        break;
                    }
                    out.println(output.render(o));
                    shown++;
                }
                // An empty page with a token would loop forever; the daemon never sends one, but stop anyway.
                token = r.getObjectsCount() == 0 ? "" : r.getNextPageToken();
            } while (!token.isEmpty() && (limit == 0 || shown < limit));
        }
        out.flush();
        return 0;
    }

    /**
     * The first page's request, from the options.
     *
     * @return the request, without page size and token
     * @throws CommandLine.ParameterException on malformed options (exit 2)
     */
    ListObjectsRequest request() {
        if (limit < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be 0 (all) or more, got " + limit);
        }
        return ListObjectsRequest.newBuilder()
                .setFilter(filter.toFilter(spec))
                .setProjection(output.toProjection())
                .setSource(fleet ? Source.SOURCE_BUS : Source.SOURCE_LOCAL)
                .build();
    }
}
