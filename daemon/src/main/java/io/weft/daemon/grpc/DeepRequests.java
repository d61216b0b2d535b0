package io.weft.daemon.grpc;

import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

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
        return mapMethods(def, m -> replace(m, recursionLimit));
    }

    /** The same service with the method of {@code replacement}'s name replaced by it. */
    static ServerServiceDefinition replaceMethod(ServerServiceDefinition def, ServerMethodDefinition<?, ?> replacement) {
        String name = replacement.getMethodDescriptor().getFullMethodName();
        return mapMethods(def, m -> m.getMethodDescriptor().getFullMethodName().equals(name) ? replacement : m);
    }

    /**
     * The same service, schema and all (reflection keeps working), with each method mapped by
     * {@code f}. gRPC requires the service descriptor to hold the very method descriptors bound.
     */
    private static ServerServiceDefinition mapMethods(
            ServerServiceDefinition def, UnaryOperator<ServerMethodDefinition<?, ?>> f) {
        ServiceDescriptor old = def.getServiceDescriptor();
        ServiceDescriptor.Builder sd = ServiceDescriptor.newBuilder(old.getName())
                .setSchemaDescriptor(old.getSchemaDescriptor());
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> m : def.getMethods()) {
            ServerMethodDefinition<?, ?> mapped = f.apply(m);
            methods.add(mapped);
            sd.addMethod(mapped.getMethodDescriptor());
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
