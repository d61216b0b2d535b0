package io.weft.daemon.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.Source;
import io.weft.api.v1.GetObjectResponse;
import io.weft.api.v1.ViewServiceGrpc;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code weft get ID}: ViewService.GetObject. */
@Command(name = "get",
        description = {"Show one live or finished object by id.",
            "Give ID before -k/-t (they take several values), e.g. weft get 1234 -k url status."})
final class GetCommand implements Callable<Integer> {

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID", description = "The object's id.")
    String id;

    @Mixin
    OutputOptions output;

    @Option(names = "--fleet",
            description = "Read the daemon's fleet view (objects of every host, from the bus; needs bus.fleet on the"
                    + " daemon). Default: this host's objects.")
    boolean fleet;

    @Override
    public Integer call() {
        try (WeftCli.Connection c = cli.connect()) {
            GetObjectResponse r;
            try {
                r = ViewServiceGrpc.newBlockingStub(c.channel())
                        .withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS)
                        .getObject(request());
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                    throw e;
                }
                String reason = RpcErrors.errorInfo(e).map(i -> " (reason " + i.getReason() + ")").orElse("");
                spec.commandLine().getErr().println("error: no object with id \"" + id + "\"" + reason);
                return 1;
            }
            spec.commandLine().getOut().println(output.render(r.getObject()));
            return 0;
        }
    }

    /** The request, from the options. */
    GetObjectRequest request() {
        return GetObjectRequest.newBuilder().setId(id).setProjection(output.toProjection())
                .setSource(fleet ? Source.SOURCE_BUS : Source.SOURCE_LOCAL).build();
    }
}
