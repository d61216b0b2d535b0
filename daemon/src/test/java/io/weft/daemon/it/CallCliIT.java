package io.weft.daemon.it;

import static io.weft.daemon.it.RawServer.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallResponse;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.api.v1.Invocation;
import io.weft.daemon.testing.WeftdProcess;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code weft call}, {@code weft calls}, {@code weft routes}, {@code weft peers} against a real weftd. */
class CallCliIT {

    @Test
    void shouldCallListCallsRoutesAndPeersFromTheCommandLine() throws Exception {
        try (WeftdProcess d = WeftdProcess.builder().env("WEFT_DAEMON_ID", "cli-host").start();
             RawServer echo = new RawServer(d.channel(), "echo-server", inv -> inv.getFunction().equals("echo")
                     ? RawServer.value(inv, inv.getArgs())
                     : inv.getFunction().equals("boom") ? RawServer.failure(inv, "ValueError", "bad item", "line 1\nline 2")
                     : null, endpoint("echo", "echo", "boom", "wait")).awaitRegistered()) {
            Cli.Run ok = Cli.weft(d, "call", "echo", "echo", "{\"item\": \"apple\", \"n\": 2}");
            assertEquals(0, ok.code(), ok.err());
            assertEquals("{\"item\":\"apple\",\"n\":2.0}", ok.out().strip());

            Cli.Run boom = Cli.weft(d, "call", "echo@cli-host", "boom");
            assertEquals(1, boom.code());
            assertTrue(boom.err().contains("reason CALL_FAILED") && boom.err().contains("ValueError: bad item")
                    && boom.err().contains("line 2"), boom.err());

            Cli.Run bad = Cli.weft(d, "call", "echo", "echo", "{not json");
            assertEquals(2, bad.code(), bad.err());

            Cli.Run none = Cli.weft(d, "call", "nobody", "f");
            assertEquals(1, none.code());
            assertTrue(none.err().contains("reason NO_ROUTE"), none.err());

            CallServiceGrpc.newStub(d.channel()).withDeadlineAfter(30, TimeUnit.SECONDS).call(CallRequest.newBuilder()
                    .setTarget("echo").setFunction("wait").setArgs(Value.newBuilder().setNullValueValue(0)).build(),
                    new StreamObserver<CallResponse>() {
                        @Override
                        public void onNext(CallResponse value) {}

                        @Override
                        public void onError(Throwable t) {}

                        @Override
                        public void onCompleted() {}
                    });
            Invocation waiting;
            do {
                waiting = echo.nextInvocation(Duration.ofSeconds(10));
            } while (!waiting.getFunction().equals("wait"));
            Cli.Run calls = Cli.weft(d, "calls");
            assertEquals(0, calls.code(), calls.err());
            assertTrue(calls.out().startsWith("CALL_ID\tCALLER"), calls.out());
            assertTrue(calls.out().contains(waiting.getCallId() + "\t-@cli-host\techo\twait\trunning\t"), calls.out());
            echo.send(RawServer.value(waiting, Value.newBuilder().setStringValue("done").build()));

            Cli.Run routes = Cli.weft(d, "routes");
            assertEquals(0, routes.code(), routes.err());
            assertTrue(routes.out().contains("echo@cli-host\t-\t0\t"), routes.out());
            assertTrue(routes.out().contains("cli-host\t-\t0\t"), routes.out());

            Cli.Run peers = Cli.weft(d, "peers");
            assertEquals(0, peers.code(), peers.err());
            assertEquals("DAEMON\tDIRECTION\tADDRESS\tEPOCH\tQUEUED\tCAPACITY\tSILENT_MS\tSENT\tRECEIVED\tCALLS", peers.out().strip());
        }
    }
}
