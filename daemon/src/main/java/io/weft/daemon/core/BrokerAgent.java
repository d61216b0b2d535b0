package io.weft.daemon.core;

import io.weft.api.v1.BusEvent;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.Source;
import io.weft.daemon.stats.StatsEngine;
import io.weft.daemon.stats.StatsLimits;
import io.weft.daemon.view.ObjectSelector;
import io.weft.daemon.view.Projector;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.logging.Logger;
import org.agrona.concurrent.Agent;
import org.jctools.queues.MessagePassingQueue;
import org.HdrHistogram.Histogram;

/**
 * The one thread that owns all mutable state (DESIGN §3): the collator, the watchers, the sinks'
 * offsets and the pending flushes. Other threads reach it only through {@link Inbound} and read it
 * only through the published {@link #status()}.
 *
 * <p>{@link #doWork()} reads the clock once, runs each duty with a named limit and returns the work
 * done, so that an idle strategy can back off when there is none. It can be driven from a test
 * thread with a fake clock.
 */
public final class BrokerAgent implements Agent {

    private static final Logger LOG = Logger.getLogger("broker");

    private final BrokerSettings settings;
    private final Clock clock;
    private final Inbound inbound;
    private final EventSink[] sinks;
    private final long[] sinkLastOffered;
    private final long[] sinkDrops;
    private final AtomicLongArray publishedLastOffered;
    private final Collator collator;
    private final Subscriptions subscriptions;
    /** The fleet view: objects of every host, collated from the bus (DESIGN §6). */
    private final Collator fleetCollator;
    private final Subscriptions fleetSubscriptions;
    private final ArrayList<ClientSession> carried = new ArrayList<>();
    private final ArrayList<PendingFlush> pendingFlushes = new ArrayList<>();
    private final LatencyWatch latencyWatch;
    private final CallRouter calls;
    private final StatsEngine stats;
    /** {@link #onCommand} as the drain's consumer, made once: the broker's idle cycles allocate nothing. */
    private final MessagePassingQueue.Consumer<Command> onCommand = this::onCommand;

    private long cycle;
    private long lapNs;
    private long longestDutyNs;
    private String longestDuty = "";
    private long nowNs;
    private long nowUnixNanos;
    private long sinkSeq;
    private int carriedCommands;
    private long nextStatusNs;
    private long eventsIn;
    private long sinkOffers;
    private long busEventsIn;
    private long flushesTimedOut;
    private long flushesRefused;
    private long watchersRefused;
    private volatile BrokerStatus status = BrokerStatus.EMPTY;
    private volatile boolean quiescent = true;
    private volatile int publishedPendingFlushes;
    private volatile int publishedPendingCalls;

    /**
     * @param sinks every destination of applied events; started and closed by the caller
     */
    public BrokerAgent(BrokerSettings settings, Clock clock, Inbound inbound, List<EventSink> sinks) {
        this(settings, clock, inbound, sinks, new StatsEngine(StatsLimits.DEFAULTS, clock, clock.nanoTime()));
    }

    /**
     * @param sinks every destination of applied events; started and closed by the caller
     * @param stats the statistics state; owned by this broker's thread from now on
     */
    public BrokerAgent(BrokerSettings settings, Clock clock, Inbound inbound, List<EventSink> sinks, StatsEngine stats) {
        this(settings, CallSettings.defaults(settings.daemonId()), clock, inbound, sinks, stats);
    }

    /**
     * @param callSettings the bounds of the call router
     * @param sinks every destination of applied events; started and closed by the caller
     * @param stats the statistics state; owned by this broker's thread from now on
     */
    public BrokerAgent(BrokerSettings settings, CallSettings callSettings, Clock clock, Inbound inbound,
            List<EventSink> sinks, StatsEngine stats) {
        this.calls = new CallRouter(callSettings);
        this.stats = stats;
        this.settings = settings;
        this.clock = clock;
        this.inbound = inbound;
        this.sinks = sinks.toArray(new EventSink[0]);
        this.sinkLastOffered = new long[this.sinks.length];
        this.sinkDrops = new long[this.sinks.length];
        this.publishedLastOffered = new AtomicLongArray(this.sinks.length);
        this.subscriptions = new Subscriptions(settings.maxWatchers());
        this.collator = new Collator(
                settings.liveMax(),
                settings.liveTtlNs(),
                settings.liveMaxBytes(),
                settings.finishedMax(),
                settings.finishedMaxBytes(),
                settings.daemonId(),
                subscriptions::onExpired);
        this.fleetSubscriptions = new Subscriptions(settings.maxWatchers());
        this.fleetCollator = new Collator(
                settings.liveMax(),
                settings.liveTtlNs(),
                settings.liveMaxBytes(),
                settings.finishedMax(),
                settings.finishedMaxBytes(),
                null,
                fleetSubscriptions::onExpired);
        this.latencyWatch = new LatencyWatch(settings.slowCycleNs(), clock.nanoTime());
    }

    @Override
    public String roleName() {
        return "weft-broker";
    }

    @Override
    public int doWork() {
        final long startNs = clock.nanoTime();
        nowNs = startNs;
        nowUnixNanos = clock.epochNanos();
        cycle++;
        lapNs = startNs;
        longestDutyNs = 0;
        int work = 0;

        // Timers first (DESIGN §3): what expired fires before the backlog is drained.
        work += expireFlushes();
        work += collator.expireIdle(nowNs, BrokerSettings.EXPIRY_DRAIN_LIMIT);
        work += fleetCollator.expireIdle(nowNs, BrokerSettings.EXPIRY_DRAIN_LIMIT);
        work += calls.expire(nowNs, CallSettings.EXPIRY_DRAIN_LIMIT);
        lap("timers");
        work += drainCarried(settings.clientDrainLimit());
        final int inboundWork = drainInbound(settings.inboundDrainLimit());
        work += inboundWork;
        lap("inbound");
        work += completeFlushes();
        lap("flushes");
        publishStatusWhenDue();

        quiescent = inboundWork < settings.inboundDrainLimit() && carriedCommands == 0;
        if (publishedPendingFlushes != pendingFlushes.size()) {
            publishedPendingFlushes = pendingFlushes.size();
        }
        if (publishedPendingCalls != calls.pendingCount()) {
            publishedPendingCalls = calls.pendingCount();
        }
        if (work > 0) {
            latencyWatch.onCycle(startNs, lapNs, longestDuty, longestDutyNs, work);
        }
        return work;
    }

    /** Ends the timing of one duty; remembers the longest of the cycle for the latency watch. */
    private void lap(String duty) {
        long t = clock.nanoTime();
        if (t - lapNs > longestDutyNs) {
            longestDutyNs = t - lapNs;
            longestDuty = duty;
        }
        lapNs = t;
    }

    private void publishStatusWhenDue() {
        if (nowNs - nextStatusNs >= 0) {
            publishStatus();
            nextStatusNs = nowNs + BrokerSettings.STATUS_INTERVAL_NS;
        }
    }

    /** The last published picture of broker state. Any thread. */
    public BrokerStatus status() {
        return status;
    }

    /**
     * True when the last cycle left no inbound or carried commands and every sink has confirmed
     * everything offered to it. Used by the SIGTERM drain. Any thread.
     */
    public boolean isDrained() {
        if (!quiescent || inbound.depth() > 0) {
            return false;
        }
        for (int i = 0; i < sinks.length; i++) {
            if (sinks[i].confirmedSeq() < publishedLastOffered.get(i)) {
                return false;
            }
        }
        return true;
    }

    /**
     * True when commands are queued or carried or flushes are pending: the broker must not sleep deeply,
     * because flushes complete by polling the sinks; nor while calls are in flight, whose deadlines
     * must fire on time. Any thread (approximate).
     */
    public boolean hasWork() {
        return !inbound.isEmpty() || !quiescent || publishedPendingFlushes > 0 || publishedPendingCalls > 0;
    }

    // ---- duties ----

    private int drainInbound(int limit) {
        return inbound.drain(onCommand, limit);
    }

    private void onCommand(Command command) {
        ClientSession s = command.session();
        if (!s.carry.isEmpty() || s.takeTurn(cycle) >= settings.clientDrainLimit()) {
            s.carry.addLast(command);
            carriedCommands++;
            if (!s.inCarryList) {
                s.inCarryList = true;
                carried.add(s);
            }
            return;
        }
        process(command);
    }

    /** Serves clients held back by the fairness limit, round-robin, before new commands. */
    private int drainCarried(int perClientLimit) {
        if (carried.isEmpty()) {
            return 0;
        }
        int work = 0;
        Iterator<ClientSession> it = carried.iterator();
        while (it.hasNext()) {
            ClientSession s = it.next();
            for (int n = 0; n < perClientLimit && !s.carry.isEmpty(); n++) {
                s.takeTurn(cycle);
                carriedCommands--;
                process(s.carry.pollFirst());
                work++;
            }
            if (s.carry.isEmpty()) {
                s.inCarryList = false;
                it.remove();
            }
        }
        return work;
    }

    private void process(Command command) {
        inbound.processed(command);
        if (command instanceof Command.Publish p) {
            onPublish(p);
        } else if (command instanceof Command.Flush f) {
            onFlush(f);
        } else if (command instanceof Command.GetObject g) {
            onGetObject(g);
        } else if (command instanceof Command.ListObjects l) {
            onListObjects(l);
        } else if (command instanceof Command.StartWatch w) {
            onStartWatch(w);
        } else if (command instanceof Command.Stats st) {
            st.work().accept(stats);
        } else if (command instanceof Command.BusEvents b) {
            onBusEvents(b);
        } else if (command instanceof Command.Calls c) {
            calls.on(c.op(), nowNs);
        }
    }

    private void onPublish(Command.Publish p) {
        List<ContextEvent> events = p.events();
        for (int i = 0, n = events.size(); i < n; i++) {
            eventsIn++;
            Collator.Applied a = collator.apply(events.get(i), nowNs, nowUnixNanos);
            if (a.event == null) {
                continue;
            }
            stats.onEvent(a.event);
            subscriptions.onApplied(a, collator, nowUnixNanos, true);
            if (sinks.length > 0) {
                toSinks(a);
            }
        }
    }

    private void onBusEvents(Command.BusEvents b) {
        List<BusEvent> events = b.events();
        for (int i = 0, n = events.size(); i < n; i++) {
            ContextEvent e = events.get(i).getEvent();
            busEventsIn++;
            if (b.consumer() != null) {
                Subscriptions.deliverRaw(b.consumer(), e);
            }
            Collator.Applied a = fleetCollator.apply(e, nowNs, nowUnixNanos);
            if (a.event != null) {
                fleetSubscriptions.onApplied(a, fleetCollator, nowUnixNanos, false);
            }
        }
    }

    private void toSinks(Collator.Applied a) {
        ObjectState end = a.ended == null ? ObjectState.OBJECT_STATE_UNSPECIFIED : a.ended.getState();
        double elapsed = a.ended == null ? 0 : a.ended.getElapsedSeconds();
        SinkEvent e = new SinkEvent(++sinkSeq, a.event, a.headers, end, elapsed);
        for (int i = 0; i < sinks.length; i++) {
            if (sinks[i].offer(e)) {
                sinkOffers++;
                sinkLastOffered[i] = e.seq();
                publishedLastOffered.lazySet(i, e.seq());
            } else {
                sinkDrops[i]++;
            }
        }
    }

    private void onFlush(Command.Flush f) {
        PendingFlush pf = new PendingFlush(f, sinkLastOffered.clone(), nowNs + f.timeoutNs());
        if (pf.pending(sinks) == 0) {
            f.listener().onFlushed(f.token(), Command.FlushOutcome.COMPLETE, 0);
            return;
        }
        if (pendingFlushes.size() >= settings.maxPendingFlushes()) {
            flushesRefused++;
            f.listener().onFlushed(f.token(), Command.FlushOutcome.REFUSED, pf.pending(sinks));
            return;
        }
        pendingFlushes.add(pf);
    }

    private int completeFlushes() {
        if (pendingFlushes.isEmpty()) {
            return 0;
        }
        int done = 0;
        for (Iterator<PendingFlush> it = pendingFlushes.iterator(); it.hasNext(); ) {
            PendingFlush pf = it.next();
            if (pf.pending(sinks) == 0) {
                it.remove();
                pf.flush.listener().onFlushed(pf.flush.token(), Command.FlushOutcome.COMPLETE, 0);
                done++;
            }
        }
        return done;
    }

    private int expireFlushes() {
        if (pendingFlushes.isEmpty()) {
            return 0;
        }
        int done = 0;
        for (Iterator<PendingFlush> it = pendingFlushes.iterator(); it.hasNext(); ) {
            PendingFlush pf = it.next();
            if (nowNs - pf.deadlineNs >= 0) {
                it.remove();
                flushesTimedOut++;
                pf.flush.listener().onFlushed(pf.flush.token(), Command.FlushOutcome.TIMED_OUT, pf.pending(sinks));
                done++;
            }
        }
        return done;
    }

    /** Gives up every pending flush; called once the broker has stopped. */
    public void abandonFlushes() {
        for (PendingFlush pf : pendingFlushes) {
            pf.flush.listener().onFlushed(pf.flush.token(), Command.FlushOutcome.ABANDONED, pf.pending(sinks));
        }
        pendingFlushes.clear();
    }

    private Collator collatorOf(Source source) {
        return source == Source.SOURCE_BUS ? fleetCollator : collator;
    }

    private void onGetObject(Command.GetObject g) {
        Collator c = collatorOf(g.source());
        LiveObject obj = c.live(g.id());
        ContextObject found = obj != null ? c.snapshot(obj, nowUnixNanos) : c.finished(g.id());
        if (found != null && !g.projector().isIdentity()) {
            found = found.toBuilder().setFields(g.projector().apply(found.getFields())).build();
        }
        g.reply().accept(Optional.ofNullable(found));
    }

    private void onListObjects(Command.ListObjects l) {
        Collator collator = collatorOf(l.source());
        ObjectSelector sel = l.selector();
        PageCursor cursor = l.after();
        ListObjectsResponse.Builder out = ListObjectsResponse.newBuilder();
        int room = l.pageSize();
        if (!cursor.inFinished() && sel.matchesState(ObjectState.OBJECT_STATE_LIVE)) {
            long last = 0;
            for (LiveObject obj : collator.liveInOrder()) {
                if (obj.ordinal <= cursor.after() || !sel.matches(obj.routingKey, obj.headers)) {
                    continue;
                }
                if (room == 0) {
                    l.reply().accept(out.setNextPageToken(new PageCursor(false, last).encode()).build());
                    return;
                }
                out.addObjects(project(collator.snapshot(obj, nowUnixNanos), l.projector()));
                last = obj.ordinal;
                room--;
            }
        }
        long after = cursor.inFinished() ? cursor.after() : 0;
        long last = 0;
        for (FinishedRing.Entry e : collator.finishedRing().inOrder()) {
            if (e.seq() <= after || !sel.matchesState(e.state()) || !sel.matches(e.routingKey(), e.headers())) {
                continue;
            }
            if (room == 0) {
                out.setNextPageToken(new PageCursor(true, last).encode());
                break;
            }
            out.addObjects(project(e.object(), l.projector()));
            last = e.seq();
            room--;
        }
        l.reply().accept(out.build());
    }

    private static ContextObject project(ContextObject obj, Projector proj) {
        return proj.isIdentity() ? obj : obj.toBuilder().setFields(proj.apply(obj.getFields())).build();
    }

    private void onStartWatch(Command.StartWatch w) {
        Watcher watcher = w.watcher();
        if (watcher.isCancelled()) {
            return;
        }
        boolean fleet = w.source() == Source.SOURCE_BUS;
        Subscriptions subscriptions = fleet ? fleetSubscriptions : this.subscriptions;
        Collator collator = collatorOf(w.source());
        subscriptions.removeCancelled();
        if (!subscriptions.add(watcher)) {
            watchersRefused++;
            watcher.refuse();
            watcher.wake();
            return;
        }
        if (watcher.includeLive() && watcher.mode() == io.weft.api.v1.WatchMode.WATCH_MODE_OBJECTS) {
            subscriptions.sendInitialLive(watcher, collator, nowUnixNanos);
            watcher.wake();
        }
    }

    private void publishStatus() {
        subscriptions.removeCancelled();
        fleetSubscriptions.removeCancelled();
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("events_in", eventsIn);
        c.put("events_out", sinkOffers + subscriptions.delivered);
        c.put("events_applied", collator.appliedCount);
        c.put("events_duplicate", collator.duplicates);
        c.put("objects_partial", collator.partials);
        c.put("objects_late_birth", collator.lateBirths);
        c.put("objects_expired_ttl", collator.expiredTtl);
        c.put("objects_expired_cap", collator.expiredCap);
        c.put("objects_expired_bytes", collator.expiredBytes);
        c.put("collator_live_bytes", collator.liveBytes());
        c.put("collator_finished_bytes", collator.finishedRing().bytes());
        c.put("finished_evicted", collator.finishedRing().evicted);
        c.put("collator_intern_overflows", collator.internOverflows());
        c.put("flushes_timed_out", flushesTimedOut);
        c.put("flushes_refused", flushesRefused);
        c.put("watchers_refused", watchersRefused);
        c.put("fleet_events_in", busEventsIn);
        c.put("fleet_events_applied", fleetCollator.appliedCount);
        c.put("fleet_events_duplicate", fleetCollator.duplicates);
        c.put("fleet_live", (long) fleetCollator.liveCount());
        c.put("fleet_collator_live_bytes", fleetCollator.liveBytes());
        c.put("broker_slow_cycles", latencyWatch.slowCycles());
        c.putAll(calls.counters());
        for (int i = 0; i < sinks.length; i++) {
            c.put("sink_" + sinks[i].name() + "_dropped_full", sinkDrops[i]);
        }
        Histogram h = latencyWatch.recent();
        status = new BrokerStatus(
                collator.liveCount(),
                collator.finishedRing().size(),
                carriedCommands,
                pendingFlushes.size(),
                List.copyOf(subscriptions.all()),
                Map.copyOf(c),
                h.getValueAtPercentile(50),
                h.getValueAtPercentile(99),
                h.getMaxValue());
    }

    /** The live-object cap, for queue reports. */
    public int liveMax() {
        return collator.liveMax();
    }

    /** The most calls in flight at once, for queue reports. */
    public int callsPendingMax() {
        return calls.pendingCapacity();
    }

    /** The finished ring's capacity, for queue reports. */
    public int finishedMax() {
        return collator.finishedRing().capacity();
    }

    @Override
    public void onClose() {
        LOG.fine("msg=\"broker stopped\"");
    }

    /** A flush waiting for its sinks. */
    private static final class PendingFlush {
        final Command.Flush flush;
        final long[] targets;
        final long deadlineNs;

        PendingFlush(Command.Flush flush, long[] targets, long deadlineNs) {
            this.flush = flush;
            this.targets = targets;
            this.deadlineNs = deadlineNs;
        }

        long pending(EventSink[] sinks) {
            long worst = 0;
            for (int i = 0; i < sinks.length; i++) {
                worst = Math.max(worst, targets[i] - sinks[i].confirmedSeq());
            }
            return worst;
        }
    }
}
