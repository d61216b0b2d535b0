package io.weft.daemon.cli;

import com.google.protobuf.util.Durations;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.Peer;
import io.weft.api.v1.PeersRequest;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code weft peers}: AdminService.Peers. */
@Command(name = "peers", description = "List the daemon's peer links, tab-separated.")
final class PeersCommand implements Callable<Integer> {

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try (WeftCli.Connection c = cli.connect()) {
            PrintWriter out = spec.commandLine().getOut();
            out.println("DAEMON\tDIRECTION\tADDRESS\tEPOCH\tQUEUED\tCAPACITY\tSILENT_MS\tSENT\tRECEIVED\tCALLS");
            for (Peer p : AdminServiceGrpc.newBlockingStub(c.channel())
                    .withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS)
                    .peers(PeersRequest.getDefaultInstance()).getPeersList()) {
                out.println(String.join("\t", p.getDaemonId(), p.getDirection(), p.getAddress(),
                        Long.toUnsignedString(p.getEpoch()), Long.toString(p.getQueued()), Long.toString(p.getCapacity()),
                        Long.toString(Durations.toMillis(p.getSilentFor())),
                        Long.toString(p.getCountersOrDefault("sent", 0)),
                        Long.toString(p.getCountersOrDefault("received", 0)),
                        Long.toString(p.getCountersOrDefault("calls", 0))));
            }
            return 0;
        }
    }
}
