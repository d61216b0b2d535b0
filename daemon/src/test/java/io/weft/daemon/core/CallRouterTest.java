package io.weft.daemon.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import io.weft.api.v1.CallError;
import io.weft.api.v1.CallResult;
import io.weft.api.v1.EndpointSpec;
import io.weft.api.v1.ServeResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The call router on the test thread, with a hand-driven clock. */
class CallRouterTest {

    private static final long MS = 1_000_000L;
    private final CallRouter router = new CallRouter(new CallSettings("d1", 3, 2, 8, 1000 * MS,
            new CallSettings.PeerSettings(1, 8, 500 * MS, 2000 * MS), 3));
    private final List<CallError> refusals = new ArrayList<>();
    private long now = 1_000 * MS;

    /** The outcome of one call. */
    private static final class Outcome implements CallReply {
        Value value;
        CallError error;
        int answers;

        @Override
        public void value(Value v, String daemonId) {
            value = v;
            answers++;
        }

        @Override
        public void error(CallError e) {
            error = e;
            answers++;
        }
    }

    private CallServer serve(String client, String endpoint, String... functions) {
        CallServer s = new CallServer(client, 2, new CallServer.Listener() {
            @Override
            public void wake() {}

            @Override
            public void refused(CallError error) {
                refusals.add(error);
            }
        });
        router.on(new CallOp.Register(s, List.of(EndpointSpec.newBuilder().setName(endpoint)
                .addAllFunctions(List.of(functions)).build())), now);
        return s;
    }

    private Outcome call(String id, String target, String function, long budgetMs, String parent) {
        Outcome o = new Outcome();
        router.on(new CallOp.Invoke(id, target, function, Value.getDefaultInstance(), budgetMs * MS, parent, "c", o), now);
        return o;
    }

    private static List<ServeResponse> drain(CallServer s) {
        List<ServeResponse> out = new ArrayList<>();
        for (ServeResponse r; (r = s.poll()) != null; ) {
            out.add(r);
        }
        return out;
    }

    @Test
    void shouldAnswerOnceWithTheHandlersValueWhenTheResultArrives() {
        CallServer s = serve("srv", "inv", "get");
        Outcome o = call("1", "inv", "get", 1000, "");
        List<ServeResponse> sent = drain(s);
        assertTrue(sent.get(0).hasRegistered());
        assertEquals("1", sent.get(1).getInvocation().getCallId());
        router.on(new CallOp.Result(s, CallResult.newBuilder().setCallId("1")
                .setValue(Value.newBuilder().setStringValue("v")).build()), now);
        router.on(new CallOp.Result(s, CallResult.newBuilder().setCallId("1")
                .setValue(Value.newBuilder().setStringValue("again")).build()), now);
        assertEquals("v", o.value.getStringValue());
        assertEquals(1, o.answers);
        assertEquals(1L, router.counters().get("call_results_late"));
    }

    @Test
    void shouldFailAtTheDeadlineAndTellTheHandlerWhenTimeRunsOut() {
        CallServer s = serve("srv", "inv", "get");
        Outcome o = call("1", "inv", "get", 100, "");
        now += 99 * MS;
        router.expire(now, 10);
        assertEquals(0, o.answers);
        now += MS;
        router.expire(now, 10);
        assertEquals("DEADLINE_EXCEEDED", o.error.getReason());
        assertEquals("call", o.error.getMetadataOrThrow("scope"));
        List<ServeResponse> sent = drain(s);
        assertEquals("DEADLINE_EXCEEDED", sent.get(sent.size() - 1).getCancel().getReason());
    }

    @Test
    void shouldGiveEveryPendingCallADeadReplyAndSendNothingWhenTheServerGoes() {
        CallServer s = serve("srv", "inv", "get");
        Outcome a = call("1", "inv", "get", 1000, "");
        Outcome b = call("2", "inv", "get", 1000, "");
        drain(s);
        s.close();
        router.on(new CallOp.ServeEnded(s), now);
        assertEquals("TARGET_GONE", a.error.getReason());
        assertEquals("UNAVAILABLE", b.error.getCode());
        assertNull(s.poll(), "a dead reply never triggers another message");
        assertEquals("NO_ROUTE", call("3", "inv", "get", 1000, "").error.getReason());
    }

    @Test
    void shouldCapANestedCallByItsParentAndEndItWithTheParent() {
        CallServer outer = serve("o", "outer", "f");
        CallServer inner = serve("i", "inner", "g");
        Outcome parent = call("p", "outer", "f", 100, "");
        Outcome child = call("c", "inner", "g", 10_000, "p");
        drain(inner);
        now += 100 * MS;
        router.expire(now, 10);
        assertEquals("DEADLINE_EXCEEDED", parent.error.getReason());
        assertEquals("parent", child.error.getMetadataOrThrow("scope"));
        assertEquals("DEADLINE_EXCEEDED", drain(inner).get(0).getCancel().getReason());
        assertEquals("CANCELLED", call("c2", "inner", "g", 100, "p").error.getReason(), "the parent is gone");
        drain(outer);
    }

    @Test
    void shouldRefuseBeyondItsBoundsAndUnknownFunctions() {
        serve("srv", "inv", "get");
        call("1", "inv", "get", 1000, "");
        call("2", "inv", "get", 1000, "");
        assertEquals("QUEUE_FULL", call("3", "inv", "get", 1000, "").error.getReason(), "per-server bound");
        assertEquals("UNKNOWN_FUNCTION", call("4", "inv", "put", 1000, "").error.getReason());
        serve("srv2", "inv", "get");
        assertEquals("ENDPOINT_TAKEN", refusals.get(0).getReason());
        serve("srv3", "other", "x");
        call("5", "other", "x", 1000, "");
        assertEquals("QUEUE_FULL", call("6", "other", "x", 1000, "").error.getReason(), "daemon-wide bound");
    }
}
