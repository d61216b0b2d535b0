package io.weft.daemon.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.RecordRequest;
import io.weft.api.v1.RecordResponse;
import io.weft.api.v1.SetEnabledRequest;
import io.weft.api.v1.SetEnabledResponse;
import io.weft.api.v1.SnapshotRequest;
import io.weft.api.v1.SnapshotResponse;
import io.weft.api.v1.StatsServiceGrpc;
import io.weft.api.v1.WatchEnabledRequest;
import io.weft.api.v1.WatchEnabledResponse;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import io.weft.daemon.stats.EnabledWatch;
import io.weft.daemon.stats.StatsEngine;
import io.weft.daemon.stats.StatsOpValidator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code weft.v1.StatsService}: checks requests, then hands the work to the broker's StatsEngine. */
public final class StatsGrpcService extends StatsServiceGrpc.StatsServiceImplBase {

    private final Inbound inbound;
    private final Sessions sessions;
    private final Errors errors;
    private final ReplyExecutor replies;
    private final StatsOpValidator validator;

    public StatsGrpcService(
            Inbound inbound, Sessions sessions, Errors errors, ReplyExecutor replies, StatsOpValidator validator) {
        this.inbound = inbound;
        this.sessions = sessions;
        this.errors = errors;
        this.replies = replies;
        this.validator = validator;
    }

    @Override
    public StreamObserver<RecordRequest> record(StreamObserver<RecordResponse> responseObserver) {
        return new RecordStream((ServerCallStreamObserver<RecordResponse>) responseObserver, inbound, validator, errors,
                replies, sessions);
    }

    @Override
    public void snapshot(SnapshotRequest req, StreamObserver<SnapshotResponse> out) {
        Set<String> only = names(req.getNamespacesList(), out);
        if (only == null) {
            return;
        }
        offer(engine -> {
            SnapshotResponse resp = engine.snapshot(only);
            replies.execute(() -> {
                out.onNext(resp);
                out.onCompleted();
            });
        }, out);
    }

    @Override
    public void setEnabled(SetEnabledRequest req, StreamObserver<SetEnabledResponse> out) {
        if (names(List.of(req.getNamespace()), out) == null) {
            return;
        }
        offer(engine -> {
            Boolean was = engine.setEnabled(req.getNamespace(), req.getEnabled());
            replies.execute(() -> {
                if (was == null) {
                    out.onError(errors.error(Status.Code.RESOURCE_EXHAUSTED, ErrorReason.ERROR_REASON_STATS_FULL,
                            "stats.max-namespaces namespaces exist already; '" + req.getNamespace() + "' is not one",
                            Map.of("namespace", req.getNamespace())));
                    return;
                }
                out.onNext(SetEnabledResponse.newBuilder().setWasEnabled(was).build());
                out.onCompleted();
            });
        }, out);
    }

    @Override
    public void watchEnabled(WatchEnabledRequest req, StreamObserver<WatchEnabledResponse> responseObserver) {
        ServerCallStreamObserver<WatchEnabledResponse> out = (ServerCallStreamObserver<WatchEnabledResponse>) responseObserver;
        Set<String> only = names(req.getNamespacesList(), out);
        if (only == null) {
            return;
        }
        EnabledWatchStream stream = new EnabledWatchStream(out, replies);
        EnabledWatch watch = new EnabledWatch(only, stream::wake);
        stream.attach(watch);
        offer(engine -> {
            if (!engine.watchEnabled(watch)) {
                replies.execute(() -> stream.fail(errors.error(Status.Code.RESOURCE_EXHAUSTED,
                        ErrorReason.ERROR_REASON_TOO_MANY_WATCHERS, "weftd serves " + StatsEngine.MAX_ENABLED_WATCHERS
                                + " WatchEnabled streams already")));
            }
        }, out);
    }

    private Set<String> names(List<String> namespaces, StreamObserver<?> out) {
        Set<String> set = new LinkedHashSet<>();
        for (String ns : namespaces) {
            String problem = StatsOpValidator.checkNamespace(ns);
            if (problem != null) {
                out.onError(errors.error(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                        problem));
                return null;
            }
            set.add(ns);
        }
        return set;
    }

    private void offer(java.util.function.Consumer<StatsEngine> work, StreamObserver<?> out) {
        if (sessions.isDraining()) {
            out.onError(errors.error(Status.Code.UNAVAILABLE, ErrorReason.ERROR_REASON_SHUTTING_DOWN,
                    "weftd is shutting down"));
            return;
        }
        Inbound.Refusal refused = inbound.offer(new Command.Stats(sessions.unary(), work));
        if (refused != Inbound.Refusal.NONE) {
            out.onError(errors.queueFull(refused));
        }
    }
}
