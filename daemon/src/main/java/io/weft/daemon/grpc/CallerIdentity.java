package io.weft.daemon.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Reads the caller's client id from the {@code weft-client-id} request header (what endpoint
 * policies' {@code allowed_clients} match) into the call's {@link Context}.
 */
final class CallerIdentity implements ServerInterceptor {

    /** The request header SDKs send. */
    static final Metadata.Key<String> HEADER = Metadata.Key.of("weft-client-id", Metadata.ASCII_STRING_MARSHALLER);
    static final Context.Key<String> CLIENT_ID = Context.key("weft-client-id");
    /** Longer ids are cut: they only name the caller. */
    static final int MAX_LENGTH = 128;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String id = headers.get(HEADER);
        if (id == null) {
            id = "";
        } else if (id.length() > MAX_LENGTH) {
            id = id.substring(0, MAX_LENGTH);
        }
        return Contexts.interceptCall(Context.current().withValue(CLIENT_ID, id), call, headers, next);
    }

    /** The current call's client id, or empty. */
    static String current() {
        String id = CLIENT_ID.get();
        return id == null ? "" : id;
    }
}
