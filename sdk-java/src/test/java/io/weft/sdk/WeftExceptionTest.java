package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.weft.api.v1.ErrorReason;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WeftExceptionTest {
  @Test
  void shouldReadReasonFromErrorInfoWhenDaemonSentOne() {
    com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
        .setCode(Code.RESOURCE_EXHAUSTED_VALUE)
        .setMessage("inbound queue full")
        .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain("weft").setReason("QUEUE_FULL")
            .putMetadata("queue", "inbound").build()))
        .build();

    WeftException e = WeftException.fromGrpc(StatusProto.toStatusRuntimeException(status));

    assertEquals("QUEUE_FULL", e.reason());
    assertEquals(ErrorReason.ERROR_REASON_QUEUE_FULL, e.errorReason());
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.status().getCode());
    assertEquals(Map.of("queue", "inbound"), e.metadata());
    assertEquals("QUEUE_FULL: inbound queue full", e.getMessage());
  }

  @Test
  void shouldUseStatusCodeAsReasonWhenNoErrorInfo() {
    WeftException e = WeftException.fromGrpc(Status.UNAVAILABLE.asRuntimeException());
    assertEquals("UNAVAILABLE", e.reason());
    assertEquals(ErrorReason.ERROR_REASON_UNSPECIFIED, e.errorReason());
  }

  @Test
  void shouldKeepExceptionWhenAlreadyWeft() {
    WeftException e = WeftException.invalid(ErrorReason.ERROR_REASON_NOT_JSON, "NaN");
    assertSame(e, WeftException.fromGrpc(e));
    assertEquals("NOT_JSON", e.reason());
  }
}
