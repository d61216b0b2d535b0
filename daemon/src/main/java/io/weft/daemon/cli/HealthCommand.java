package io.weft.daemon.cli;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.InfoResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code weft health}: gRPC health check plus the daemon's identity. */
@Command(name = "health",
        description = {"Check that weftd answers (grpc.health.v1 Health/Check, then AdminService.Info).",
            "Prints e.g. 'SERVING daemon=h1 version=0.1.0 uptime=12s addr=unix:///run/weft/weftd.sock'.",
            "Exit 0 when SERVING, 1 otherwise."})
final class HealthCommand implements Callable<Integer> {

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try (WeftCli.Connection c = cli.connect()) {
            HealthCheckResponse.ServingStatus status = HealthGrpc.newBlockingStub(c.channel())
                    .withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.getDefaultInstance())
                    .getStatus();
            if (status != HealthCheckResponse.ServingStatus.SERVING) {
                spec.commandLine().getOut().println(status + " addr=" + c.address());
                spec.commandLine().getErr().println("error: weftd at " + c.address() + " is " + status);
                return 1;
            }
            InfoResponse info = AdminServiceGrpc.newBlockingStub(c.channel())
                    .withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS)
                    .info(InfoRequest.getDefaultInstance());
            Duration uptime = Duration.ofSeconds(info.getUptime().getSeconds(), info.getUptime().getNanos());
            spec.commandLine().getOut().println("SERVING daemon=" + info.getDaemonId() + " version=" + info.getVersion()
                    + " uptime=" + DurationOption.format(uptime) + " addr=" + c.address());
            return 0;
        }
    }
}
