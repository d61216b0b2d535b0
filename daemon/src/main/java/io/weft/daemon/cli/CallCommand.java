package io.weft.daemon.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallResponse;
import io.weft.api.v1.CallServiceGrpc;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code weft call TARGET FUNCTION [ARGS]}: CallService.Call. */
@Command(name = "call",
        description = {"Call a function a client serves, on this host or a peer, and print its JSON result.",
            "The call's budget is --timeout. A failure prints its reason (CALL_FAILED with the remote type,"
                    + " message and stack; TARGET_GONE; NO_ROUTE; DEADLINE_EXCEEDED...) and exits 1.",
            "Example: weft call inventory@web-1 count '{\"item\": \"apple\"}'"})
final class CallCommand implements Callable<Integer> {

    @ParentCommand
    WeftCli cli;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TARGET", description = "endpoint (nearest first) or endpoint@daemon.")
    String target;

    @Parameters(index = "1", paramLabel = "FUNCTION", description = "A function the endpoint registered.")
    String function;

    @Parameters(index = "2", paramLabel = "ARGS", arity = "0..1", defaultValue = "null",
            description = "The arguments as one JSON value. Default: ${DEFAULT-VALUE}.")
    String args;

    @Override
    public Integer call() throws InvalidProtocolBufferException {
        Value.Builder v = Value.newBuilder();
        try {
            JsonFormat.parser().merge(args, v);
        } catch (InvalidProtocolBufferException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "ARGS is not JSON: " + e.getMessage());
        }
        try (WeftCli.Connection c = cli.connect()) {
            CallResponse r = CallServiceGrpc.newBlockingStub(c.channel())
                    .withDeadlineAfter(c.deadlineMs(), TimeUnit.MILLISECONDS)
                    .call(CallRequest.newBuilder().setTarget(target).setFunction(function).setArgs(v).build());
            spec.commandLine().getOut().println(JsonFormat.printer().omittingInsignificantWhitespace().print(r.getValue()));
            return 0;
        }
    }
}
