package io.weft.daemon.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.GetObjectResponse;
import io.weft.api.v1.ListObjectsRequest;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ObjectFilter;
import io.weft.api.v1.Source;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchRequest;
import io.weft.api.v1.WatchResponse;
import io.weft.daemon.bus.BusMonitor;
import io.weft.daemon.core.Command;
import io.weft.daemon.core.Inbound;
import io.weft.daemon.core.PageCursor;
import io.weft.daemon.core.Watcher;
import io.weft.api.v1.RecentRequest;
import io.weft.api.v1.RecentResponse;
import io.weft.api.v1.SketchRequest;
import io.weft.api.v1.SketchResponse;
import io.weft.daemon.stats.RecentEvents;
import io.weft.daemon.view.ObjectSelector;
import io.weft.daemon.view.TopicMatcher;
import io.weft.daemon.view.Projector;
import java.util.Map;

/** {@code weft.v1.ViewService}: validates and compiles requests, then asks the broker. */
public final class ViewGrpcService extends ViewServiceGrpc.ViewServiceImplBase {

    /** Page size when the request names none. */
    static final int DEFAULT_PAGE_SIZE = 100;
    /** Largest page. */
    static final int MAX_PAGE_SIZE = 1000;
    /** Heavy hitters and top values listed when a Sketch request names no number. */
    static final int DEFAULT_SKETCH_TOP = 20;
    /** The most a Sketch request may ask for. */
    static final int MAX_SKETCH_TOP = 1000;
    /** Largest watcher buffer a client may ask for. */
    static final int MAX_WATCH_BUFFER = 65536;

    private final Inbound inbound;
    private final Sessions sessions;
    private final Errors errors;
    private final ReplyExecutor replies;
    private final int defaultWatchBuffer;
    private final BusMonitor busMonitor;

    /**
     * @param defaultWatchBuffer a watcher's buffer when the request names none
     * @param busMonitor reads the bus for views with source BUS; null when no bus is configured
     */
    public ViewGrpcService(Inbound inbound, Sessions sessions, Errors errors, ReplyExecutor replies,
            int defaultWatchBuffer, BusMonitor busMonitor) {
        this.inbound = inbound;
        this.sessions = sessions;
        this.errors = errors;
        this.replies = replies;
        this.defaultWatchBuffer = defaultWatchBuffer;
        this.busMonitor = busMonitor;
    }

    @Override
    public void getObject(GetObjectRequest req, StreamObserver<GetObjectResponse> out) {
        String idProblem = EventValidator.checkId(req.getId());
        if (idProblem != null) {
            out.onError(invalid(ErrorReason.ERROR_REASON_INVALID_ID, "id: " + idProblem));
            return;
        }
        if (!fleetReadable(req.getSource(), out)) {
            return;
        }
        Projector projector = Projector.compile(req.getProjection());
        offer(new Command.GetObject(sessions.unary(), req.getSource(), req.getId(), projector, found -> replies.execute(() -> {
            if (found.isPresent()) {
                out.onNext(GetObjectResponse.newBuilder().setObject(found.get()).build());
                out.onCompleted();
            } else {
                out.onError(errors.error(Status.Code.NOT_FOUND, ErrorReason.ERROR_REASON_UNKNOWN_OBJECT,
                        "no live or recently finished object has id '" + req.getId() + "'",
                        Map.of("id", req.getId())));
            }
        })), out);
    }

    @Override
    public void listObjects(ListObjectsRequest req, StreamObserver<ListObjectsResponse> out) {
        if (!fleetReadable(req.getSource(), out)) {
            return;
        }
        int pageSize = req.getPageSize() == 0 ? DEFAULT_PAGE_SIZE : req.getPageSize();
        if (pageSize > MAX_PAGE_SIZE) {
            out.onError(invalid(ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "page_size: " + req.getPageSize() + " is more than " + MAX_PAGE_SIZE));
            return;
        }
        PageCursor cursor;
        try {
            cursor = PageCursor.decode(req.getPageToken());
        } catch (IllegalArgumentException e) {
            out.onError(invalid(ErrorReason.ERROR_REASON_INVALID_ARGUMENT, e.getMessage()));
            return;
        }
        ObjectSelector selector = selector(req.getFilter(), out);
        if (selector == null) {
            return;
        }
        Projector projector = Projector.compile(req.getProjection());
        offer(new Command.ListObjects(sessions.unary(), req.getSource(), selector, projector, pageSize, cursor,
                resp -> replies.execute(() -> {
                    out.onNext(resp);
                    out.onCompleted();
                })), out);
    }

    @Override
    public void watch(WatchRequest req, StreamObserver<WatchResponse> responseObserver) {
        ServerCallStreamObserver<WatchResponse> out = (ServerCallStreamObserver<WatchResponse>) responseObserver;
        if (sessions.isDraining()) {
            out.onError(errors.error(Status.Code.UNAVAILABLE, ErrorReason.ERROR_REASON_SHUTTING_DOWN,
                    "weftd is shutting down"));
            return;
        }
        if (req.getSource() == Source.SOURCE_BUS && busMonitor == null) {
            out.onError(noBus());
            return;
        }
        if (req.getBufferSize() > MAX_WATCH_BUFFER) {
            out.onError(invalid(ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "buffer_size: " + req.getBufferSize() + " is more than " + MAX_WATCH_BUFFER));
            return;
        }
        ObjectSelector selector = selector(req.getFilter(), out);
        if (selector == null) {
            return;
        }
        int buffer = req.getBufferSize() == 0 ? defaultWatchBuffer : req.getBufferSize();
        WatchStream stream = new WatchStream(out, replies, () -> errors.error(Status.Code.RESOURCE_EXHAUSTED,
                ErrorReason.ERROR_REASON_TOO_MANY_WATCHERS,
                "weftd serves the configured maximum number of watchers (watch.max)"));
        Watcher watcher = new Watcher(req.getMode(), selector, Projector.compile(req.getProjection()),
                req.getIncludeLive(), buffer, stream::wake);
        stream.attach(watcher);
        Command.StartWatch start = new Command.StartWatch(sessions.unary(), req.getSource(), watcher);
        Inbound.Refusal refused = inbound.offer(start);
        if (refused != Inbound.Refusal.NONE) {
            watcher.cancel();
            out.onError(errors.queueFull(refused));
            return;
        }
        if (req.getSource() == Source.SOURCE_BUS) {
            busMonitor.watch(req.getFilter(), watcher);
        }
    }

    @Override
    public void recent(RecentRequest req, StreamObserver<RecentResponse> out) {
        TopicMatcher filter = topics(req.getRoutingKeysList(), out);
        if (filter == null) {
            return;
        }
        offer(new Command.Stats(sessions.unary(), engine -> {
            RecentEvents recent = engine.recent();
            if (recent == null) {
                replies.execute(() -> out.onError(errors.error(Status.Code.FAILED_PRECONDITION,
                        ErrorReason.ERROR_REASON_INVALID_ARGUMENT, "the recent-events cache is off (setting recent)")));
                return;
            }
            int limit = req.getLimit() == 0 ? recent.eventsPerKey() : Math.min(req.getLimit(), recent.eventsPerKey());
            RecentResponse resp = recent.report(filter, limit);
            replies.execute(() -> {
                out.onNext(resp);
                out.onCompleted();
            });
        }), out);
    }

    @Override
    public void sketch(SketchRequest req, StreamObserver<SketchResponse> out) {
        TopicMatcher filter = topics(req.getRoutingKeysList(), out);
        if (filter == null) {
            return;
        }
        if (req.getTop() > MAX_SKETCH_TOP) {
            out.onError(invalid(ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "top: " + req.getTop() + " is more than " + MAX_SKETCH_TOP));
            return;
        }
        int top = req.getTop() == 0 ? DEFAULT_SKETCH_TOP : req.getTop();
        offer(new Command.Stats(sessions.unary(), engine -> {
            SketchResponse resp = engine.sketches().report(filter, top);
            replies.execute(() -> {
                out.onNext(resp);
                out.onCompleted();
            });
        }), out);
    }

    private TopicMatcher topics(java.util.List<String> patterns, StreamObserver<?> out) {
        try {
            return TopicMatcher.compile(patterns);
        } catch (IllegalArgumentException e) {
            out.onError(invalid(ErrorReason.ERROR_REASON_INVALID_PATTERN, "routing_keys: " + e.getMessage()));
            return null;
        }
    }

    private ObjectSelector selector(ObjectFilter filter, StreamObserver<?> out) {
        try {
            return ObjectSelector.compile(filter);
        } catch (IllegalArgumentException e) {
            out.onError(invalid(ErrorReason.ERROR_REASON_INVALID_PATTERN, "filter: " + e.getMessage()));
            return null;
        }
    }

    /**
     * Get and List read the fleet collator, which only the always-on fleet consumer keeps current:
     * without {@code bus.fleet} they would answer from whatever BUS watches happened to collate.
     */
    private boolean fleetReadable(Source source, StreamObserver<?> out) {
        if (source != Source.SOURCE_BUS) {
            return true;
        }
        if (busMonitor == null) {
            out.onError(noBus());
            return false;
        }
        if (!busMonitor.followsFleet()) {
            out.onError(errors.error(Status.Code.FAILED_PRECONDITION, ErrorReason.ERROR_REASON_BUS_UNAVAILABLE,
                    "the fleet view is off: set bus.fleet (WEFT_BUS_FLEET) to the routing-key patterns to follow,"
                            + " or use Watch with source BUS"));
            return false;
        }
        return true;
    }

    private StatusRuntimeException noBus() {
        return errors.error(Status.Code.FAILED_PRECONDITION, ErrorReason.ERROR_REASON_BUS_UNAVAILABLE,
                "source BUS needs a bus; this weftd has none configured (bus.url, WEFT_BUS_URL)");
    }

    private void offer(Command cmd, StreamObserver<?> out) {
        Inbound.Refusal refused = inbound.offer(cmd);
        if (refused != Inbound.Refusal.NONE) {
            out.onError(errors.queueFull(refused));
        }
    }

    private StatusRuntimeException invalid(ErrorReason reason, String description) {
        return errors.error(Status.Code.INVALID_ARGUMENT, reason, description);
    }
}
