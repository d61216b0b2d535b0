package io.weft.daemon.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.weft.api.v1.DerivedError;
import io.weft.api.v1.SetEnabledRequest;
import io.weft.api.v1.SetEnabledResponse;
import io.weft.api.v1.SnapshotRequest;
import io.weft.api.v1.SnapshotResponse;
import io.weft.api.v1.StatsServiceGrpc;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code weft stats}: StatsService.Snapshot, and SetEnabled with {@code --enable}/{@code --disable}. */
@Command(name = "stats",
        description = {"Print the statistics: one JSON object, namespace -> entries (scalars, collections of records,"
                + " derived values evaluated now; every namespace has \"Enabled\"). Derived values that failed"
                + " are null in it and listed on stderr as 'derived error: NAMESPACE[/COLLECTION[RECORD]]/KEY: TEXT (EXPRESSION)'.",
            "With --enable or --disable, switch a namespace's collection instead (SDKs skip the work while it is"
                    + " off; reports go on) and print what it was.",
            "Examples: weft stats -p weftd;  weft stats --disable 'My Stuff'"})
final class StatsCommand implements Callable<Integer> {

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..*", paramLabel = "NAMESPACE", description = "Namespaces to print. Default: all.")
    List<String> namespaces = new ArrayList<>();

    @Option(names = {"-p", "--pretty"}, description = "Indent the JSON over several lines. Default: one line.")
    boolean pretty;

    @Option(names = "--enable", paramLabel = "NAMESPACE", description = "Switch this namespace's collection on.")
    String enable;

    @Option(names = "--disable", paramLabel = "NAMESPACE", description = "Switch this namespace's collection off.")
    String disable;

    @Override
    public Integer call() throws InvalidProtocolBufferException {
        if (enable != null && disable != null || (enable != null || disable != null) && !namespaces.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--enable and --disable take one namespace each, alone (not with each other or NAMESPACE...)");
        }
        try (WeftCli.Connection c = cli.connect()) {
            StatsServiceGrpc.StatsServiceBlockingStub stats = StatsServiceGrpc.newBlockingStub(c.channel())
                    .withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS);
            PrintWriter out = spec.commandLine().getOut();
            if (enable != null || disable != null) {
                String ns = enable != null ? enable : disable;
                SetEnabledResponse r = stats.setEnabled(SetEnabledRequest.newBuilder().setNamespace(ns)
                        .setEnabled(enable != null).build());
                out.println(ns + ": " + (enable != null ? "enabled" : "disabled") + " (was "
                        + (r.getWasEnabled() ? "enabled" : "disabled") + ")");
                return 0;
            }
            SnapshotResponse r = stats.snapshot(SnapshotRequest.newBuilder().addAllNamespaces(namespaces).build());
            JsonFormat.Printer printer = pretty ? JsonFormat.printer() : JsonFormat.printer().omittingInsignificantWhitespace();
            out.println(printer.print(r.getNamespaces()));
            PrintWriter err = spec.commandLine().getErr();
            for (DerivedError e : r.getErrorsList()) {
                String where = e.getCollection().isEmpty() ? ""
                        : "/" + e.getCollection() + "[" + e.getRecord() + "]";
                err.println("derived error: " + e.getNamespace() + where + "/" + e.getKey() + ": " + e.getError()
                        + " (" + e.getExpression() + ")");
            }
            return 0;
        }
    }
}
