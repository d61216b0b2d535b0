package io.weft.daemon.grpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.weft.api.v1.PublishRequest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A {@code ContextService.Publish} message as it came off the wire: its bytes, not yet parsed.
 * gRPC hands Publish messages over on the transport thread (see {@link GrpcServers}), where
 * parsing a batch of a mebibyte takes about 5 ms; with the bytes in hand, {@link PublishStream}
 * parses a small message right there and a large one on another thread, so that one client's
 * large batches do not hold up the other streams that share the transport thread.
 */
final class PublishFrame {

    /** Serves the bytes as they came; parsing is left to {@link #parse}. */
    static final MethodDescriptor.Marshaller<PublishFrame> MARSHALLER = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(PublishFrame frame) {
            return new ByteArrayInputStream(frame.bytes);
        }

        @Override
        public PublishFrame parse(InputStream in) {
            try {
                if (in instanceof KnownLength) {
                    byte[] bytes = new byte[in.available()];
                    if (in.readNBytes(bytes, 0, bytes.length) == bytes.length && in.read() < 0) {
                        return new PublishFrame(bytes);
                    }
                    throw Status.INTERNAL.withDescription("a Publish message was not as long as announced")
                            .asRuntimeException();
                }
                return new PublishFrame(in.readAllBytes());
            } catch (IOException e) {
                throw Status.INTERNAL.withDescription("cannot read a Publish message").withCause(e)
                        .asRuntimeException();
            }
        }
    };

    private final byte[] bytes;

    private PublishFrame(byte[] bytes) {
        this.bytes = bytes;
    }

    /** The message's size in bytes. */
    int size() {
        return bytes.length;
    }

    /**
     * The request, parsed with {@code recursionLimit} (see {@link DeepRequests}).
     *
     * @throws InvalidProtocolBufferException when the bytes are not a PublishRequest
     */
    PublishRequest parse(int recursionLimit) throws InvalidProtocolBufferException {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        in.setRecursionLimit(recursionLimit);
        PublishRequest r = PublishRequest.parser().parseFrom(in);
        in.checkLastTagWas(0);
        return r;
    }
}
