package io.weft.bench;

import com.google.protobuf.Value;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.weft.api.v1.CallRequest;
import io.weft.api.v1.CallResponse;
import io.weft.api.v1.CallServiceGrpc;
import io.weft.daemon.testing.Certs;
import io.weft.daemon.testing.WeftdProcess;
import io.weft.sdk.Weft;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The calls benchmark (DESIGN §8): a raw grpc-java unary echo over a unix socket as the baseline;
 * a local call through weftd (SDK caller and SDK handler on this host) p50/p99; a call over one
 * mTLS peer hop; pipelined local calls/s with 64 in flight. Latencies are of sequential calls of a
 * small JSON value, after a warm-up.
 */
final class CallBench {
  private static final Value ARGS = Value.newBuilder().setStringValue("x".repeat(64)).build();

  private final int calls;
  private final int warmup;
  private final Duration pipelined;
  /**
   * Pipelined calls exercise paths the sequential ones did not: on 2 cores the JIT compilers of
   * the three JVMs go on taking a large share of the CPU for about 20 s.
   */
  private final Duration pipelinedWarmUp;

  CallBench(boolean quick) {
    this.calls = quick ? 2_000 : 20_000;
    this.warmup = quick ? 1_000 : 10_000;
    this.pipelined = Duration.ofSeconds(quick ? 2 : 10);
    this.pipelinedWarmUp = Duration.ofSeconds(quick ? 2 : 20);
  }

  List<Figure> run() throws Exception {
    List<Figure> out = new ArrayList<>();
    long[] raw = rawEcho();
    double rawP50 = pct(raw, 50);
    System.out.printf("raw grpc echo (unix socket): p50 %.0f us, p99 %.0f us%n", rawP50 / 1e3, pct(raw, 99) / 1e3);
    out.add(Figure.info("calls: raw grpc echo p50", rawP50, "ns", "baseline, unix socket"));
    out.add(Figure.info("calls: raw grpc echo p99", pct(raw, 99), "ns", ""));

    try (WeftdProcess d = Daemons.start();
         Weft handler = Weft.builder().address(d.target()).clientId("bench-handler").build();
         Weft caller = Weft.builder().address(d.target()).clientId("bench-caller").build();
         var s = handler.serve("echo", Map.of("echo", (ctx, a) -> a))) {
      long[] local = sequential(() -> caller.call("echo", "echo", "x".repeat(64), Duration.ofSeconds(5)));
      double p50 = pct(local, 50);
      System.out.printf("local call via weftd: p50 %.0f us, p99 %.0f us (%.2f x raw)%n", p50 / 1e3,
          pct(local, 99) / 1e3, p50 / rawP50);
      out.add(Figure.info("calls: local p50", p50, "ns", ""));
      out.add(Figure.info("calls: local p99", pct(local, 99), "ns", ""));
      out.add(new Figure("calls: local p50 / raw p50", p50 / rawP50, "", Figure.Target.atMost(2), false, ""));
      double rate = pipelined(caller);
      System.out.printf("pipelined local calls, 64 in flight: %.0f calls/s%n", rate);
      out.add(new Figure("calls: pipelined local (64 in flight)", rate, "calls/s", Figure.Target.atLeast(30_000),
          false, ""));
    }

    Certs certs = Certs.create();
    int port;
    try (ServerSocket ss = new ServerSocket(0)) {
      port = ss.getLocalPort();
    }
    WeftdProcess.Builder bb = WeftdProcess.builder().env("JAVA_OPTS", "").env("WEFT_DAEMON_ID", "bench-b")
        .env("WEFT_PEER_LISTEN", "127.0.0.1:" + port);
    certs.env("bench-b").forEach(bb::env);
    WeftdProcess.Builder ab = WeftdProcess.builder().env("JAVA_OPTS", "").env("WEFT_DAEMON_ID", "bench-a")
        .env("WEFT_PEERS", "127.0.0.1:" + port);
    certs.env("bench-a").forEach(ab::env);
    try (WeftdProcess b = bb.start();
         WeftdProcess a = ab.start();
         Weft handler = Weft.builder().address(b.target()).clientId("bench-handler").build();
         Weft caller = Weft.builder().address(a.target()).clientId("bench-caller").build();
         var s = handler.serve("echo", Map.of("echo", (ctx, x) -> x))) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        try {
          caller.call("echo@bench-b", "echo", "", Duration.ofSeconds(2));
          break;
        } catch (RuntimeException notYet) {
          if (System.nanoTime() - deadline > 0) {
            throw notYet;
          }
          Thread.sleep(50); // the link and its route adverts come up asynchronously
        }
      }
      long[] hop = sequential(() -> caller.call("echo@bench-b", "echo", "x".repeat(64), Duration.ofSeconds(5)));
      double p50 = pct(hop, 50);
      System.out.printf("1-hop call over mTLS: p50 %.0f us, p99 %.0f us (%.2f x raw)%n", p50 / 1e3,
          pct(hop, 99) / 1e3, p50 / rawP50);
      out.add(Figure.info("calls: 1-hop mTLS p50", p50, "ns", ""));
      out.add(Figure.info("calls: 1-hop mTLS p99", pct(hop, 99), "ns", ""));
      out.add(new Figure("calls: 1-hop p50 / raw p50", p50 / rawP50, "", Figure.Target.atMost(3), false, ""));
    }
    return out;
  }

  /** The baseline: the same request and response messages echoed by a bare grpc-java server. */
  private long[] rawEcho() throws Exception {
    Path dir = Files.createTempDirectory("weft-bench-echo-");
    Path sock = dir.resolve("echo.sock");
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(sock.toString()))
        .channelType(EpollServerDomainSocketChannel.class).bossEventLoopGroup(group).workerEventLoopGroup(group)
        .addService(new CallServiceGrpc.CallServiceImplBase() {
          @Override
          public void call(CallRequest req, StreamObserver<CallResponse> out) {
            out.onNext(CallResponse.newBuilder().setValue(req.getArgs()).build());
            out.onCompleted();
          }
        }).build().start();
    ManagedChannel ch = io.grpc.Grpc.newChannelBuilder("unix://" + sock, io.grpc.InsecureChannelCredentials.create())
        .build();
    try {
      CallServiceGrpc.CallServiceBlockingStub stub = CallServiceGrpc.newBlockingStub(ch);
      CallRequest req = CallRequest.newBuilder().setTarget("echo").setFunction("echo").setArgs(ARGS).build();
      return sequential(() -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).call(req));
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  private long[] sequential(Supplier<Object> call) {
    for (int i = 0; i < warmup; i++) {
      call.get();
    }
    long[] ns = new long[calls];
    for (int i = 0; i < calls; i++) {
      long t = System.nanoTime();
      call.get();
      ns[i] = System.nanoTime() - t;
    }
    Arrays.sort(ns);
    return ns;
  }

  private double pipelined(Weft caller) throws InterruptedException {
    Semaphore inFlight = new Semaphore(64);
    AtomicLong done = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long warmEnd = System.nanoTime() + pipelinedWarmUp.toNanos();
    long start = 0;
    long startCount = 0;
    long end = warmEnd + pipelined.toNanos();
    boolean measuring = false;
    while (System.nanoTime() - end < 0) {
      if (!measuring && System.nanoTime() - warmEnd >= 0) {
        measuring = true;
        start = System.nanoTime();
        startCount = done.get();
      }
      inFlight.acquire();
      caller.callAsync("echo", "echo", "x", Duration.ofSeconds(10)).whenComplete((v, t) -> {
        if (t != null) {
          failed.incrementAndGet();
        }
        done.incrementAndGet();
        inFlight.release();
      });
    }
    long count = done.get() - startCount;
    double secs = (System.nanoTime() - start) / 1e9;
    inFlight.acquire(64);
    if (failed.get() > 0) {
      System.out.println("pipelined: " + failed.get() + " calls failed");
    }
    return count / secs;
  }

  private static double pct(long[] sorted, double p) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }
}
