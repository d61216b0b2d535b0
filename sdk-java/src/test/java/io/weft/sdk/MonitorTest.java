package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextObject;
import io.weft.api.v1.GetObjectRequest;
import io.weft.api.v1.GetObjectResponse;
import io.weft.api.v1.HeaderMatch;
import io.weft.api.v1.Lagged;
import io.weft.api.v1.ListObjectsRequest;
import io.weft.api.v1.ListObjectsResponse;
import io.weft.api.v1.ObjectState;
import io.weft.api.v1.Source;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.api.v1.WatchMode;
import io.weft.api.v1.WatchRequest;
import io.weft.api.v1.WatchResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Monitors and queries against an in-process fake ViewService. */
class MonitorTest {
  private final BlockingQueue<WatchRequest> watches = new LinkedBlockingQueue<>();
  /** What the fake does with each Watch call. */
  private volatile Consumer<StreamObserver<WatchResponse>> onWatch = out -> {};
  private Server server;
  private ManagedChannel channel;
  private Weft weft;

  private final class FakeViews extends ViewServiceGrpc.ViewServiceImplBase {
    @Override
    public void watch(WatchRequest request, StreamObserver<WatchResponse> out) {
      watches.add(request);
      onWatch.accept(out);
    }

    @Override
    public void getObject(GetObjectRequest request, StreamObserver<GetObjectResponse> out) {
      switch (request.getId()) {
        case "known" -> {
          out.onNext(GetObjectResponse.newBuilder().setObject(object("known")).build());
          out.onCompleted();
        }
        case "broken" -> out.onError(Status.INTERNAL.withDescription("boom").asRuntimeException());
        default -> out.onError(failure(Code.NOT_FOUND, "UNKNOWN_OBJECT"));
      }
    }

    @Override
    public void listObjects(ListObjectsRequest request, StreamObserver<ListObjectsResponse> out) {
      int page = request.getPageToken().isEmpty() ? 0 : Integer.parseInt(request.getPageToken());
      ListObjectsResponse.Builder response = ListObjectsResponse.newBuilder()
          .addObjects(object("o" + (2 * page))).addObjects(object("o" + (2 * page + 1)));
      if (page < 2) {
        response.setNextPageToken(Integer.toString(page + 1));
      }
      out.onNext(response.build());
      out.onCompleted();
    }
  }

  private static ContextObject object(String id) {
    return ContextObject.newBuilder().setId(id).setState(ObjectState.OBJECT_STATE_FINISHED).build();
  }

  private static ContextEvent event(String id) {
    return ContextEvent.newBuilder().setId(id).build();
  }

  private static RuntimeException failure(Code code, String reason) {
    return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
        .setCode(code.getNumber()).setMessage(reason.toLowerCase())
        .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain("weft").setReason(reason).build()))
        .build());
  }

  @BeforeEach
  void setUp() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(new FakeViews()).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
    weft = Weft.builder().channel(channel).build();
  }

  @AfterEach
  void tearDown() {
    weft.close();
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void shouldReturnItemsAndCountLaggedMarkersWhenWatching() {
    onWatch = out -> {
      out.onNext(WatchResponse.newBuilder().setMessage(event("a")).build());
      out.onNext(WatchResponse.newBuilder().setLagged(Lagged.newBuilder().setDropped(3)).build());
      out.onNext(WatchResponse.newBuilder().setMessage(event("b")).build());
      out.onCompleted();
    };
    try (Monitor<ContextEvent> messages = weft.messages(Filter.all())) {
      assertEquals("a", messages.next().getId());
      assertEquals("b", messages.next().getId());
      assertFalse(messages.hasNext());
      assertThrows(NoSuchElementException.class, messages::next);
      assertEquals(3, messages.lagged());
      assertNull(messages.poll(Duration.ofMillis(1)), "an ended monitor polls null");
    }
  }

  @Test
  void shouldSendFilterAndProjectionWhenWatchingObjects() throws InterruptedException {
    Filter filter = Filter.builder().routingKeys("app.#", "web.*").header("env", "prod")
        .header("team", "").matchAny().keys("url", "*elapsed").trim("password").dropEmpty()
        .includeLive().bufferSize(100).build();
    try (Monitor<ContextObject> objects = weft.objects(filter)) {
      WatchRequest request = watches.poll(10, TimeUnit.SECONDS);
      assertEquals(WatchMode.WATCH_MODE_OBJECTS, request.getMode());
      assertEquals(Source.SOURCE_LOCAL, request.getSource());
      assertEquals(List.of("app.#", "web.*"), request.getFilter().getRoutingKeysList());
      assertEquals(Map.of("env", "prod", "team", ""), request.getFilter().getHeadersMap());
      assertEquals(HeaderMatch.HEADER_MATCH_ANY, request.getFilter().getHeaderMatch());
      assertEquals(List.of("url", "*elapsed"), request.getProjection().getKeysList());
      assertEquals(List.of("password"), request.getProjection().getTrimList());
      assertTrue(request.getProjection().getDropEmpty());
      assertTrue(request.getIncludeLive());
      assertEquals(100, request.getBufferSize());
      assertEquals(0, objects.lagged());
    }
    try (Monitor<ContextEvent> messages = weft.messages(filter)) {
      assertFalse(watches.poll(10, TimeUnit.SECONDS).getIncludeLive(), "objects only");
      assertEquals(0, messages.lagged());
    }
  }

  @Test
  void shouldReturnNullFromPollWhenNothingArrivesInTime() {
    try (Monitor<ContextObject> objects = weft.objects(Filter.all())) {
      assertNull(objects.poll(Duration.ofMillis(50)));
    }
  }

  @Test
  void shouldThrowReasonWhenWatchFails() {
    onWatch = out -> out.onError(failure(Code.INVALID_ARGUMENT, "INVALID_PATTERN"));
    try (Monitor<ContextEvent> messages = weft.messages(Filter.builder().routingKeys("a..b").build())) {
      WeftException e = assertThrows(WeftException.class, messages::hasNext);
      assertEquals("INVALID_PATTERN", e.reason());
      assertFalse(messages.hasNext(), "a failed monitor has ended");
    }
  }

  @Test
  void shouldUnblockConsumerWhenClosedFromAnotherThread() throws Exception {
    Monitor<ContextEvent> messages = weft.messages(Filter.all());
    CompletableFuture<Boolean> consumer = CompletableFuture.supplyAsync(messages::hasNext);
    watches.poll(10, TimeUnit.SECONDS);
    messages.close();
    assertFalse(consumer.get(10, TimeUnit.SECONDS));
  }

  @Test
  void shouldKeepDeliveringWhenMoreItemsThanPrefetchArrive() {
    int total = 1000;
    onWatch = out -> {
      for (int i = 0; i < total; i++) {
        out.onNext(WatchResponse.newBuilder().setMessage(event("e" + i)).build());
      }
      out.onCompleted();
    };
    int seen = 0;
    try (Monitor<ContextEvent> messages = weft.messages(Filter.all())) {
      while (messages.hasNext()) {
        assertEquals("e" + seen, messages.next().getId());
        seen++;
      }
    }
    assertEquals(total, seen);
  }

  @Test
  void shouldReturnObjectOrEmptyWhenGettingById() {
    assertEquals("known", weft.getObject("known").orElseThrow().getId());
    assertTrue(weft.getObject("nope").isEmpty());
    WeftException e = assertThrows(WeftException.class, () -> weft.getObject("broken"));
    assertEquals("INTERNAL", e.reason());
  }

  @Test
  void shouldFetchEveryPageWhenListing() {
    List<String> ids = weft.listObjects(Filter.builder().pageSize(2).build())
        .map(ContextObject::getId).toList();
    assertEquals(List.of("o0", "o1", "o2", "o3", "o4", "o5"), ids);
  }

  @Test
  void shouldThrowUnavailableWhenDaemonIsAbsent() {
    try (Weft absent = Weft.builder().address("unix:///nonexistent/weftd.sock").build()) {
      WeftException e = assertThrows(WeftException.class, () -> absent.getObject("x"));
      assertEquals("UNAVAILABLE", e.reason());
      try (Monitor<ContextObject> objects = absent.objects(Filter.all())) {
        assertEquals("UNAVAILABLE", assertThrows(WeftException.class, objects::hasNext).reason());
      }
    }
  }
}
