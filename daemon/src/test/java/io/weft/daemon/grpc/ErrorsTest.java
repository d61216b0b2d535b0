package io.weft.daemon.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.weft.daemon.core.Inbound;
import org.junit.jupiter.api.Test;

class ErrorsTest {

    @Test
    void shouldSayWhichBoundRefusedWhenTheInboundQueueRefusesAnOffer() {
        Errors errors = new Errors();
        StatusRuntimeException quota = errors.queueFull(Inbound.Refusal.CLIENT_QUOTA);
        StatusRuntimeException full = errors.queueFull(Inbound.Refusal.FULL);

        for (StatusRuntimeException e : new StatusRuntimeException[] {quota, full}) {
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
            assertEquals("QUEUE_FULL", Errors.errorInfo(e).orElseThrow().getReason());
        }
        assertTrue(quota.getStatus().getDescription().startsWith("this client has its share of the inbound queue in use"),
                quota.getStatus().getDescription());
        assertTrue(full.getStatus().getDescription().startsWith("the daemon's inbound queue is full"),
                full.getStatus().getDescription());
        assertEquals(2L, errors.counts().get("errors_QUEUE_FULL"), errors.counts().toString());
    }
}
