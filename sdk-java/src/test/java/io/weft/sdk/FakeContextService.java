package io.weft.sdk;

import io.grpc.stub.StreamObserver;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.EventRejection;
import io.weft.api.v1.PublishRequest;
import io.weft.api.v1.PublishResponse;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A ContextService that records what it receives and acknowledges like weftd: cumulative
 * counters per stream, the last batch admitted, flush tokens answered at once.
 */
final class FakeContextService extends ContextServiceGrpc.ContextServiceImplBase {
  final List<PublishRequest> requests = new CopyOnWriteArrayList<>();
  final AtomicInteger streams = new AtomicInteger();
  /** Events with these ids are rejected (INVALID_ID). */
  final Set<String> rejectIds = ConcurrentHashMap.newKeySet();
  /** Events with these ids are dropped as if the inbound queue were full. */
  final Set<String> dropIds = ConcurrentHashMap.newKeySet();
  /** False: receive but never answer (a stuck daemon). */
  volatile boolean acknowledge = true;

  List<ContextEvent> events() {
    return requests.stream().flatMap(r -> r.getEventsList().stream()).toList();
  }

  @Override
  public StreamObserver<PublishRequest> publish(StreamObserver<PublishResponse> out) {
    streams.incrementAndGet();
    return new StreamObserver<>() {
      long accepted;
      long rejected;
      long dropped;
      long lastBatchSeq;

      @Override
      public void onNext(PublishRequest r) {
        requests.add(r);
        PublishResponse.Builder ack = PublishResponse.newBuilder();
        for (int i = 0; i < r.getEventsCount(); i++) {
          ContextEvent e = r.getEvents(i);
          if (rejectIds.contains(e.getId())) {
            rejected++;
            ack.addRejections(EventRejection.newBuilder().setBatchSeq(r.getBatchSeq()).setIndex(i)
                .setId(e.getId()).setReason(ErrorReason.ERROR_REASON_INVALID_ID));
          } else if (dropIds.contains(e.getId())) {
            dropped++;
          } else {
            accepted++;
          }
        }
        lastBatchSeq = Math.max(lastBatchSeq, r.getBatchSeq());
        if (r.getFlushToken() != 0) {
          ack.setFlushedToken(r.getFlushToken()).setFlushComplete(true);
        }
        if (acknowledge) {
          out.onNext(ack.setAccepted(accepted).setRejected(rejected).setDropped(dropped)
              .setLastBatchSeq(lastBatchSeq).build());
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        out.onCompleted();
      }
    };
  }
}
