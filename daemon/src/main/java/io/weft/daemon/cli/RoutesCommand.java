package io.weft.daemon.cli;

import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.Route;
import io.weft.api.v1.RoutesRequest;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code weft routes}: AdminService.Routes. */
@Command(name = "routes",
        description = "List the daemons and endpoints the daemon can reach (local first; '*' marks the route in"
                + " use), tab-separated.")
final class RoutesCommand implements Callable<Integer> {

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try (WeftCli.Connection c = cli.connect()) {
            PrintWriter out = spec.commandLine().getOut();
            out.println("NAME\tVIA\tHOPS\tEPOCH\tBEST");
            for (Route r : AdminServiceGrpc.newBlockingStub(c.channel())
                    .withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS)
                    .routes(RoutesRequest.getDefaultInstance()).getRoutesList()) {
                out.println(String.join("\t", r.getName(), r.getVia().isEmpty() ? "-" : r.getVia(),
                        Integer.toString(r.getHops()), Long.toUnsignedString(r.getEpoch()), r.getBest() ? "*" : ""));
            }
            return 0;
        }
    }
}
