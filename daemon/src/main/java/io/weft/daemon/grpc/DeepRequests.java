package io.weft.daemon.grpc;

import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.protobuf.ProtoUtils;

/**
 * Raises protobuf's parse recursion limit (100 by default) for a service's requests, so that a
 * value nested up to {@code limits.depth} JSON levels parses and one nested deeper reaches the
 * validator and gets TOO_DEEP, rather than an opaque parse failure. One JSON level of a Struct is
 * three protobuf levels (Struct, map entry, Value).
 */
final class DeepRequests {

    /** Protobuf levels per JSON level, plus room so that "too deep" is still parsed and named. */
    static int recursionLimit(int jsonDepth) {
        return 3 * jsonDepth + 3 * 16;
    }

    private DeepRequests() {}

    /** The same service with every request marshaller replaced by one with {@code recursionLimit}. */
    static ServerServiceDefinition withRecursionLimit(ServerServiceDefinition def, int recursionLimit) {
        ServiceDescriptor old = def.getServiceDescriptor();
        ServiceDescriptor.Builder sd = ServiceDescriptor.newBuilder(old.getName())
                .setSchemaDescriptor(old.getSchemaDescriptor());
        java.util.List<ServerMethodDefinition<?, ?>> methods = new java.util.ArrayList<>();
        for (ServerMethodDefinition<?, ?> m : def.getMethods()) {
            ServerMethodDefinition<?, ?> replaced = replace(m, recursionLimit);
            methods.add(replaced);
            sd.addMethod(replaced.getMethodDescriptor());
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(sd.build());
        for (ServerMethodDefinition<?, ?> m : methods) {
            b.addMethod(m);
        }
        return b.build();
    }

    @SuppressWarnings("unchecked")
    private static <ReqT, RespT> ServerMethodDefinition<ReqT, RespT> replace(
            ServerMethodDefinition<ReqT, RespT> m, int recursionLimit) {
        MethodDescriptor<ReqT, RespT> md = m.getMethodDescriptor();
        if (!(md.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<ReqT> pm)
                || !(pm.getMessagePrototype() instanceof Message prototype)) {
            return m;
        }
        MethodDescriptor.Marshaller<ReqT> deep =
                (MethodDescriptor.Marshaller<ReqT>) ProtoUtils.marshallerWithRecursionLimit(prototype, recursionLimit);
        return ServerMethodDefinition.create(md.toBuilder().setRequestMarshaller(deep).build(), m.getServerCallHandler());
    }
}
