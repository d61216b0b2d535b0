package io.weft.daemon.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.PublishRequest;
import java.io.ByteArrayInputStream;
import org.junit.jupiter.api.Test;

class PublishFrameTest {

    private static final int LIMIT = DeepRequests.recursionLimit(32);

    @Test
    void shouldParseTheRequestWhenBytesAreAPublishRequest() throws Exception {
        PublishRequest r = PublishRequest.newBuilder().setClientId("c").setBatchSeq(7)
                .addEvents(ContextEvent.newBuilder().setId("o").setSeq(1).setRoutingKey("a.b")).build();
        PublishFrame f = frame(r.toByteArray());

        assertEquals(r.getSerializedSize(), f.size());
        assertEquals(r, f.parse(LIMIT));
        assertArrayEquals(r.toByteArray(), PublishFrame.MARSHALLER.stream(f).readAllBytes());
    }

    @Test
    void shouldThrowWhenBytesAreNotAPublishRequest() {
        PublishFrame truncated = frame(new byte[] {0x08, (byte) 0xff});

        assertThrows(InvalidProtocolBufferException.class, () -> truncated.parse(LIMIT));
    }

    @Test
    void shouldThrowWhenValuesNestDeeperThanTheRecursionLimit() throws Exception {
        Value v = Value.newBuilder().setStringValue("leaf").build();
        for (int i = 0; i < 40; i++) {
            v = Value.newBuilder().setListValue(ListValue.newBuilder().addValues(v)).build();
        }
        PublishRequest deep = PublishRequest.newBuilder().addEvents(ContextEvent.newBuilder().setId("o")
                .setFields(Struct.newBuilder().putFields("v", v))).build();
        PublishFrame f = frame(deep.toByteArray());

        assertEquals(deep, f.parse(LIMIT));
        assertThrows(InvalidProtocolBufferException.class, () -> f.parse(20));
    }

    private static PublishFrame frame(byte[] bytes) {
        return PublishFrame.MARSHALLER.parse(new ByteArrayInputStream(bytes));
    }
}
