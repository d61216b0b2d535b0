package io.weft.bench;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.weft.api.v1.AppendOp;
import io.weft.api.v1.DeriveOp;
import io.weft.api.v1.PutOp;
import io.weft.api.v1.RecordRequest;
import io.weft.api.v1.RecordResponse;
import io.weft.api.v1.SnapshotRequest;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsServiceGrpc;
import io.weft.daemon.stats.StatsLimits;
import io.weft.daemon.stats.StatsOpValidator;
import io.weft.daemon.stats.StatsRegistry;
import io.weft.daemon.testing.WeftdProcess;
import io.weft.sdk.Counter;
import io.weft.sdk.Stats;
import io.weft.sdk.StatsNamespace;
import io.weft.sdk.Weft;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Statistics through a real weftd from one Java SDK client, and the time to produce a report.
 *
 * <ul>
 *   <li>counters: increments of 1,000 counters, timed until {@code stats.flush} returns (weftd has
 *       applied them) and checked in a Snapshot; the SDK sums increments locally, so the wire carries
 *       far fewer ops (printed).
 *   <li>appends: {@code ns.append(...)} of distinct records, which cannot be coalesced: every op
 *       crosses the wire and is applied by the broker; baseline: a raw grpc-java client streaming
 *       pre-built Record batches of the same ops to the same kind of daemon, and the SDK/raw ratio.
 *   <li>snapshot: the report of a namespace holding a collection of 10,000 records (4 numbers each,
 *       one derived value per record, two aggregates), in-process ({@link StatsRegistry#snapshot})
 *       and through {@code StatsService.Snapshot}.
 * </ul>
 */
final class StatsThroughput {
  private static final Duration FLUSH = Duration.ofSeconds(120);
  private static final int COUNTERS = 1000;
  private static final int RECORDS = 10_000;

  private final long increments;
  private final int appends;
  private final int snapshots;

  StatsThroughput(long increments, int appends, int snapshots) {
    this.increments = increments;
    this.appends = appends;
    this.snapshots = snapshots;
  }

  List<Figure> run() throws Exception {
    List<Figure> out = new ArrayList<>();
    out.addAll(counters());
    out.addAll(appends());
    out.addAll(snapshot());
    return out;
  }

  private List<Figure> counters() throws Exception {
    try (WeftdProcess d = Daemons.start(); Weft weft = Weft.builder().address(d.target()).build()) {
      Stats stats = weft.stats();
      StatsNamespace ns = stats.namespace("bench");
      Counter[] cs = new Counter[COUNTERS];
      for (int i = 0; i < COUNTERS; i++) {
        cs[i] = ns.counter("c" + i);
      }
      for (long i = 0; i < increments / 4; i++) {
        cs[(int) (i % COUNTERS)].increment();
      }
      require(stats.flush(FLUSH), "warm-up flush");
      long sentBefore = stats.sent();
      long t0 = System.nanoTime();
      for (long i = 0; i < increments; i++) {
        cs[(int) (i % COUNTERS)].increment();
      }
      require(stats.flush(FLUSH), "flush");
      long tookNs = System.nanoTime() - t0;
      long wire = stats.sent() - sentBefore;
      double total = 0;
      Struct s = StatsServiceGrpc.newBlockingStub(d.channel())
          .snapshot(SnapshotRequest.newBuilder().addNamespaces("bench").build())
          .getNamespaces().getFieldsOrThrow("bench").getStructValue();
      for (int i = 0; i < COUNTERS; i++) {
        total += s.getFieldsOrThrow("c" + i).getNumberValue();
      }
      long expected = increments + increments / 4;
      boolean lost = total != expected || stats.dropped() != 0;
      double rate = increments / (tookNs / 1e9);
      System.out.printf("counters: %,d increments in %.3f s = %,.0f ops/s; %,d ops on the wire; daemon total %,.0f"
          + " of %,d; SDK dropped %d%n", increments, tookNs / 1e9, rate, wire, total, expected, stats.dropped());
      return List.of(new Figure("stats ops/s, SDK counters (coalesced)", rate, "ops/s", Figure.Target.atLeast(1e6),
          lost, String.format("1 client, 1 thread, %,d counters; %,d wire ops; applied and checked", COUNTERS, wire)));
    }
  }

  private List<Figure> appends() throws Exception {
    double sdk;
    long sdkDropped;
    try (WeftdProcess d = Daemons.start();
        Weft weft = Weft.builder().address(d.target()).statsQueueCapacity(appends + 1).build()) {
      Stats stats = weft.stats();
      StatsNamespace ns = stats.namespace("bench");
      for (int i = 0; i < appends / 10; i++) {
        ns.append("Log", Map.of("i", i, "ok", true), 100);
      }
      require(stats.flush(FLUSH), "warm-up flush");
      long t0 = System.nanoTime();
      for (int i = 0; i < appends; i++) {
        ns.append("Log", Map.of("i", i, "ok", true), 100);
      }
      require(stats.flush(FLUSH), "flush");
      long tookNs = System.nanoTime() - t0;
      sdk = appends / (tookNs / 1e9);
      sdkDropped = stats.dropped() + stats.rejected();
      System.out.printf("appends (SDK): %,d in %.3f s = %,.0f ops/s; dropped or rejected %d%n", appends, tookNs / 1e9,
          sdk, sdkDropped);
    }
    double raw = rawAppends();
    return List.of(
        new Figure("stats ops/s, SDK appends (one op each)", sdk, "ops/s", null, sdkDropped != 0,
            "every op crosses the wire; for information"),
        Figure.info("stats ops/s, raw gRPC appends (baseline)", raw, "ops/s", "pre-built Record batches of 4,096"),
        Figure.info("ratio SDK/raw appends", sdk / raw, "", ""));
  }

  /** A raw client streaming pre-built batches, only while the stream is ready, until the last ack. */
  private double rawAppends() throws Exception {
    int batch = 4096;
    int batches = Math.max(1, appends / batch);
    List<RecordRequest> requests = new ArrayList<>(batches);
    for (int b = 0; b < batches; b++) {
      RecordRequest.Builder r = RecordRequest.newBuilder().setBatchSeq(b + 1);
      for (int i = 0; i < batch; i++) {
        r.addOps(StatsOp.newBuilder().setNamespace("bench").setAppend(AppendOp.newBuilder().setCollection("Log")
            .setMaxLen(100).setRecord(Struct.newBuilder()
                .putFields("i", Value.newBuilder().setNumberValue(b * batch + i).build())
                .putFields("ok", Value.newBuilder().setBoolValue(true).build()))));
      }
      requests.add(r.build());
    }
    try (WeftdProcess d = Daemons.start()) {
      ManagedChannel ch = Daemons.channel(d);
      try {
        // Warm-up round, then the measured one, each on its own stream.
        streamAll(ch, requests.subList(0, Math.max(1, batches / 10)));
        long t0 = System.nanoTime();
        long applied = streamAll(ch, requests).getApplied();
        long tookNs = System.nanoTime() - t0;
        double rate = (double) batches * batch / (tookNs / 1e9);
        System.out.printf("appends (raw): %,d in %.3f s = %,.0f ops/s (applied %,d)%n", batches * batch,
            tookNs / 1e9, rate, applied);
        require(applied == (long) batches * batch, "raw appends all applied");
        return rate;
      } finally {
        ch.shutdownNow();
      }
    }
  }

  /** Streams the batches and returns the last ack (the one covering the last batch, if it came). */
  private static RecordResponse streamAll(ManagedChannel ch, List<RecordRequest> requests)
      throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    AtomicReference<RecordResponse> lastAck = new AtomicReference<>(RecordResponse.getDefaultInstance());
    long last = requests.get(requests.size() - 1).getBatchSeq();
    Thread sender = Thread.currentThread();
    ClientCallStreamObserver<RecordRequest>[] call = new ClientCallStreamObserver[1];
    StatsServiceGrpc.newStub(ch).record(new ClientResponseObserver<RecordRequest, RecordResponse>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<RecordRequest> s) {
        call[0] = s;
        s.setOnReadyHandler(() -> LockSupport.unpark(sender));
      }

      @Override
      public void onNext(RecordResponse r) {
        lastAck.set(r);
        if (r.getLastBatchSeq() >= last) {
          done.countDown();
        }
      }

      @Override
      public void onError(Throwable t) {
        done.countDown();
      }

      @Override
      public void onCompleted() {
        done.countDown();
      }
    });
    for (RecordRequest r : requests) {
      while (!call[0].isReady()) {
        LockSupport.parkNanos(100_000);
      }
      call[0].onNext(r);
    }
    done.await(120, TimeUnit.SECONDS);
    call[0].onCompleted();
    return lastAck.get();
  }

  private List<Figure> snapshot() throws Exception {
    List<StatsOp> ops = new ArrayList<>();
    for (int i = 0; i < RECORDS; i++) {
      ops.add(StatsOp.newBuilder().setNamespace("bench").setPut(PutOp.newBuilder().setCollection("Tables")
          .setRecordKey("table-" + i).setRecord(Struct.newBuilder()
              .putFields("Rows", Value.newBuilder().setNumberValue(1000 + i).build())
              .putFields("Bytes", Value.newBuilder().setNumberValue(64_000 + i).build())
              .putFields("Inserts", Value.newBuilder().setNumberValue(i % 100).build())
              .putFields("Deletes", Value.newBuilder().setNumberValue(i % 7).build()))).build());
    }
    ops.add(derive("Tables", "Bytes/Row", "Bytes / Rows"));
    ops.add(derive("", "Total Rows", "sum(Tables, Rows)"));
    ops.add(derive("", "Mean Bytes", "avg(Tables, Bytes)"));

    StatsOpValidator validator = new StatsOpValidator(StatsLimits.DEFAULTS);
    StatsRegistry reg = new StatsRegistry(StatsLimits.DEFAULTS);
    for (StatsOp op : ops) {
      StatsOpValidator.Checked c = validator.check(op);
      require(c.rejection() == null && reg.apply(op, c.expression(), 0) == null, "snapshot data applied");
    }
    double[] inProcess = new double[snapshots];
    for (int i = 0; i < snapshots * 2; i++) {
      long t0 = System.nanoTime();
      int size = reg.snapshot(Set.of(), System.nanoTime(), 0, 1).getSerializedSize();
      long took = System.nanoTime() - t0;
      require(size > 0, "snapshot not empty");
      if (i >= snapshots) {
        inProcess[i - snapshots] = took / 1e6;
      }
    }
    Arrays.sort(inProcess);
    double rpcMedian;
    try (WeftdProcess d = Daemons.start()) {
      ManagedChannel ch = Daemons.channel(d);
      try {
        List<RecordRequest> requests = new ArrayList<>();
        for (int from = 0, seq = 1; from < ops.size(); from += 4096, seq++) {
          requests.add(RecordRequest.newBuilder().setBatchSeq(seq)
              .addAllOps(ops.subList(from, Math.min(ops.size(), from + 4096))).build());
        }
        RecordResponse ack = streamAll(ch, requests);
        require(ack.getApplied() == ops.size(), "snapshot data applied in weftd: " + ack);
        StatsServiceGrpc.StatsServiceBlockingStub stub = StatsServiceGrpc.newBlockingStub(ch);
        SnapshotRequest req = SnapshotRequest.newBuilder().addNamespaces("bench").build();
        double[] rpc = new double[snapshots];
        for (int i = 0; i < snapshots * 2; i++) {
          long t0 = System.nanoTime();
          int records = stub.snapshot(req).getNamespaces().getFieldsOrThrow("bench").getStructValue()
              .getFieldsOrThrow("Tables").getStructValue().getFieldsCount();
          long took = System.nanoTime() - t0;
          require(records == RECORDS, "all records reported");
          if (i >= snapshots) {
            rpc[i - snapshots] = took / 1e6;
          }
        }
        Arrays.sort(rpc);
        rpcMedian = rpc[rpc.length / 2];
        System.out.printf("snapshot of %,d records: in-process median %.2f ms (max %.2f); Snapshot RPC median %.2f ms"
            + " (max %.2f)%n", RECORDS, inProcess[snapshots / 2], inProcess[snapshots - 1], rpcMedian,
            rpc[rpc.length - 1]);
      } finally {
        ch.shutdownNow();
      }
    }
    return List.of(
        new Figure("snapshot of 10,000 records (in-process) p0.50", inProcess[snapshots / 2], "ms",
            Figure.Target.atMost(50), false, String.format("StatsRegistry.snapshot, broker-thread work; max %.2f ms",
                inProcess[snapshots - 1])),
        Figure.info("Snapshot RPC of 10,000 records p0.50", rpcMedian, "ms",
            "through weftd: queue, report, serialise, unix socket"));
  }

  private static StatsOp derive(String collection, String key, String expression) {
    return StatsOp.newBuilder().setNamespace("bench").setDerive(DeriveOp.newBuilder().setCollection(collection)
        .setKey(key).setExpression(expression)).build();
  }

  private static void require(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException("benchmark precondition failed: " + what);
    }
  }
}
