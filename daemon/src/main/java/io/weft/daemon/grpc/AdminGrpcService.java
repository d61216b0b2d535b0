package io.weft.daemon.grpc;

import com.google.protobuf.util.Durations;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.InfoRequest;
import io.weft.api.v1.InfoResponse;
import io.weft.api.v1.InFlightRequest;
import io.weft.api.v1.InFlightResponse;
import io.weft.api.v1.PeersRequest;
import io.weft.api.v1.PeersResponse;
import io.weft.api.v1.RoutesRequest;
import io.weft.api.v1.RoutesResponse;
import io.weft.api.v1.ErrorReason;
import io.grpc.Status;
import io.weft.daemon.core.CallOp;
import io.weft.daemon.core.Command;
import io.weft.api.v1.ListenAddress;
import io.weft.api.v1.QueueInfo;
import io.weft.api.v1.QueuesRequest;
import io.weft.api.v1.QueuesResponse;
import io.weft.daemon.core.BrokerAgent;
import io.weft.daemon.core.BrokerStatus;
import io.weft.daemon.core.EventSink;
import io.weft.daemon.core.Inbound;
import io.weft.daemon.core.Watcher;
import java.util.List;
import java.util.function.Supplier;

/**
 * {@code weft.v1.AdminService}: reads the broker's published status, never queues behind traffic,
 * so it answers even when the inbound queue is full.
 */
public final class AdminGrpcService extends AdminServiceGrpc.AdminServiceImplBase {

    /**
     * Who this daemon is.
     *
     * @param version the build's version
     * @param daemonId the configured daemon id
     * @param instanceId a UUID per start
     * @param startUnixNanos when it started (wall clock)
     * @param startNanoTime when it started (monotonic)
     */
    public record Identity(String version, String daemonId, String instanceId, long startUnixNanos, long startNanoTime) {}

    private final Identity identity;
    private final Supplier<List<ListenAddress>> listen;
    private final BrokerAgent broker;
    private final Inbound inbound;
    private final List<EventSink> sinks;
    private final Errors errors;
    private final Sessions sessions;
    private final ReplyExecutor replies;
    private final List<Supplier<QueueInfo>> otherQueues;

    /**
     * Wires introspection to the parts it reports on.
     *
     * @param otherQueues queues that are neither the broker's nor a sink's (the bus monitor's)
     */
    public AdminGrpcService(
            Identity identity,
            Supplier<List<ListenAddress>> listen,
            BrokerAgent broker,
            Inbound inbound,
            List<EventSink> sinks,
            Errors errors,
            Sessions sessions,
            ReplyExecutor replies,
            List<Supplier<QueueInfo>> otherQueues) {
        this.identity = identity;
        this.listen = listen;
        this.broker = broker;
        this.inbound = inbound;
        this.sinks = sinks;
        this.errors = errors;
        this.sessions = sessions;
        this.replies = replies;
        this.otherQueues = List.copyOf(otherQueues);
    }

    @Override
    public void info(InfoRequest req, StreamObserver<InfoResponse> out) {
        out.onNext(infoNow());
        out.onCompleted();
    }

    /** What Info answers now. Any thread. */
    public InfoResponse infoNow() {
        BrokerStatus st = broker.status();
        InfoResponse.Builder b = InfoResponse.newBuilder()
                .setVersion(identity.version())
                .setDaemonId(identity.daemonId())
                .setInstanceId(identity.instanceId())
                .setStartUnixNanos(identity.startUnixNanos())
                .setUptime(Durations.fromNanos(System.nanoTime() - identity.startNanoTime()))
                .addAllListen(listen.get());
        st.counters().forEach(b::putCounters);
        errors.counts().forEach(b::putCounters);
        b.putCounters("inbound_refused_full", inbound.refusedFull());
        b.putCounters("inbound_refused_client_quota", inbound.refusedQuota());
        b.putCounters("publish_streams_open", sessions.openStreams());
        b.putCounters("broker_cycle_p50_ns", st.cycleP50Ns());
        b.putCounters("broker_cycle_p99_ns", st.cycleP99Ns());
        b.putCounters("broker_cycle_max_ns", st.cycleMaxNs());
        return b.build();
    }

    @Override
    public void queues(QueuesRequest req, StreamObserver<QueuesResponse> out) {
        out.onNext(queuesNow());
        out.onCompleted();
    }

    /** What Queues answers now. Any thread. */
    public QueuesResponse queuesNow() {
        BrokerStatus st = broker.status();
        QueuesResponse.Builder b = QueuesResponse.newBuilder();
        b.addQueues(QueueInfo.newBuilder()
                .setName("inbound")
                .setDepth(inbound.depth())
                .setCapacity(inbound.capacity())
                .putDrops("full", inbound.refusedFull())
                .putDrops("client_quota", inbound.refusedQuota())
                .setPolicy("counts events and commands; refuse: unary RESOURCE_EXHAUSTED/QUEUE_FULL, streams count"
                        + " the batch as dropped; a stream at its client's quota pauses reading"));
        b.addQueues(QueueInfo.newBuilder()
                .setName("broker.carried")
                .setDepth(st.carriedCommands())
                .setCapacity(inbound.capacity())
                .setPolicy("bounded by the inbound queue: each client's carried commands count against its quota"));
        b.addQueues(QueueInfo.newBuilder()
                .setName("collator.live")
                .setDepth(st.liveObjects())
                .setCapacity(broker.liveMax())
                .putDrops("ttl", st.counters().getOrDefault("objects_expired_ttl", 0L))
                .putDrops("cap", st.counters().getOrDefault("objects_expired_cap", 0L))
                .putDrops("bytes", st.counters().getOrDefault("objects_expired_bytes", 0L))
                .setPolicy("over collator.live-max or collator.live-max-bytes (estimated): expire the least"
                        + " recently updated (state EXPIRED)"));
        b.addQueues(QueueInfo.newBuilder()
                .setName("collator.finished")
                .setDepth(st.finishedObjects())
                .setCapacity(broker.finishedMax())
                .putDrops("evicted", st.counters().getOrDefault("finished_evicted", 0L))
                .setPolicy("over collator.finished-max or collator.finished-max-bytes (estimated): evict the oldest"));
        b.addQueues(QueueInfo.newBuilder()
                .setName("reply.executor")
                .setDepth(replies.depth())
                .setCapacity(replies.capacity())
                .putDrops("ran_on_caller", replies.overflows())
                .setPolicy("run on the submitting thread"));
        for (Watcher w : st.watchers()) {
            b.addQueues(QueueInfo.newBuilder()
                    .setName("watch." + w.id())
                    .setDepth(w.depth())
                    .setCapacity(w.capacity())
                    .putDrops("lagged", w.laggedTotal())
                    .setPolicy("drop oldest, send Lagged{n}"));
        }
        for (EventSink s : sinks) {
            QueueInfo q = s.queueInfo();
            b.addQueues(q.toBuilder()
                    .putDrops("full", st.counters().getOrDefault("sink_" + s.name() + "_dropped_full", 0L)));
        }
        b.addQueues(QueueInfo.newBuilder()
                .setName("calls.pending")
                .setDepth(st.counters().getOrDefault("calls_pending", 0L))
                .setCapacity(broker.callsPendingMax())
                .putDrops("full", st.counters().getOrDefault("calls_refused_full", 0L))
                .setPolicy("refuse: RESOURCE_EXHAUSTED/QUEUE_FULL (also per serving client, call.serve-max-in-flight);"
                        + " a CallStream is not read while call.stream-max-in-flight of its calls are in flight"));
        otherQueues.forEach(q -> b.addQueues(q.get()));
        return b.build();
    }

    /** Asks the broker, which owns the route table. */
    @Override
    public void routes(RoutesRequest req, StreamObserver<RoutesResponse> out) {
        ask(new CallOp.ListRoutes(routes -> replies.execute(() -> {
            out.onNext(RoutesResponse.newBuilder().addAllRoutes(routes).build());
            out.onCompleted();
        })), out);
    }

    /** Asks the broker, which owns the peer links. */
    @Override
    public void peers(PeersRequest req, StreamObserver<PeersResponse> out) {
        ask(new CallOp.ListPeers(peers -> replies.execute(() -> {
            out.onNext(PeersResponse.newBuilder().addAllPeers(peers).build());
            out.onCompleted();
        })), out);
    }

    private void ask(CallOp op, StreamObserver<?> out) {
        if (inbound.offer(new Command.Calls(sessions.unary(), op)) != Inbound.Refusal.NONE) {
            out.onError(errors.error(Status.Code.RESOURCE_EXHAUSTED, ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "the daemon's inbound queue is full; retry with backoff"));
        }
    }

    /** Asks the broker, which owns the calls in flight; answers from the reply executor. */
    @Override
    public void inFlight(InFlightRequest req, StreamObserver<InFlightResponse> out) {
        Command.Calls cmd = new Command.Calls(sessions.unary(), new CallOp.ListInFlight(calls -> replies.execute(() -> {
            out.onNext(InFlightResponse.newBuilder().addAllCalls(calls).build());
            out.onCompleted();
        })));
        if (inbound.offer(cmd) != Inbound.Refusal.NONE) {
            out.onError(errors.error(Status.Code.RESOURCE_EXHAUSTED, ErrorReason.ERROR_REASON_QUEUE_FULL,
                    "the daemon's inbound queue is full; retry with backoff"));
        }
    }
}
