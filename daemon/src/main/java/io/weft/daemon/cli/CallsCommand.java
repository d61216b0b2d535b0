package io.weft.daemon.cli;

import com.google.protobuf.util.Durations;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.InFlightCall;
import io.weft.api.v1.InFlightRequest;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code weft calls}: AdminService.InFlight (Shrapnel's where_all). */
@Command(name = "calls", description = "List the calls in flight on the daemon, oldest first, tab-separated.")
final class CallsCommand implements Callable<Integer> {

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try (WeftCli.Connection c = cli.connect()) {
            PrintWriter out = spec.commandLine().getOut();
            out.println("CALL_ID\tCALLER\tTARGET\tFUNCTION\tSTATE\tELAPSED_MS\tLEFT_MS\tPATH\tSERVED_BY");
            for (InFlightCall x : AdminServiceGrpc.newBlockingStub(c.channel())
                    .withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS)
                    .inFlight(InFlightRequest.getDefaultInstance()).getCallsList()) {
                out.println(String.join("\t", x.getCallId(),
                        (x.getCallerClient().isEmpty() ? "-" : x.getCallerClient()) + "@" + x.getCallerDaemon(),
                        x.getTarget(), x.getFunction(), x.getState().name().replace("CALL_STATE_", "").toLowerCase(),
                        Long.toString(Durations.toMillis(x.getElapsed())),
                        Long.toString(Durations.toMillis(x.getDeadlineLeft())),
                        String.join(">", x.getPathList()), x.getServerClient().isEmpty() ? "-" : x.getServerClient()));
            }
            return 0;
        }
    }
}
