package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.RecentKey;
import io.weft.api.v1.RecentRequest;
import io.weft.api.v1.RecentResponse;
import io.weft.api.v1.SketchRequest;
import io.weft.api.v1.SketchResponse;
import io.weft.api.v1.ViewServiceGrpc;
import io.weft.daemon.testing.WeftdProcess;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** ViewService.Recent and ViewService.Sketch against a real weftd. */
class SketchRecentIT {

    private static void publish(WeftdProcess weftd) {
        PublishEventsRequest.Builder b = PublishEventsRequest.newBuilder();
        for (int i = 0; i < 300; i++) {
            String key = i % 3 == 0 ? "shop.cart" : "shop.checkout";
            b.addEvents(ContextEvent.newBuilder().setId("o-" + i).setRoutingKey(key).setSeq(1)
                    .setKind(EventKind.EVENT_KIND_TRANSIENT)
                    .setFields(Api.fields(Map.of("client_ip", i % 2 == 0 ? "10.0.0.1" : "10.0.0." + (i % 7), "n", i))));
        }
        ContextServiceGrpc.newBlockingStub(weftd.channel()).publishEvents(b.build());
    }

    @Test
    void shouldServeTheBusiestKeysLastEventsAndTheSketchesWhenAsked() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().env("WEFT_SKETCH_FIELDS", "client_ip").start()) {
            publish(weftd);
            ViewServiceGrpc.ViewServiceBlockingStub view = ViewServiceGrpc.newBlockingStub(weftd.channel());
            RecentResponse recent = view.recent(RecentRequest.newBuilder().setLimit(5).build());
            assertEquals(List.of("shop.checkout", "shop.cart"),
                    recent.getKeysList().stream().map(RecentKey::getRoutingKey).toList());
            RecentKey checkout = recent.getKeys(0);
            assertEquals(200, checkout.getCount());
            assertEquals(5, checkout.getEventsCount());
            assertEquals("o-299", checkout.getEvents(4).getId());
            assertEquals(100, view.recent(RecentRequest.newBuilder().addRoutingKeys("shop.cart").build())
                    .getKeys(0).getEventsCount());

            SketchResponse sketch = view.sketch(SketchRequest.newBuilder().setTop(3).build());
            assertEquals(300, sketch.getEvents());
            assertEquals("shop.checkout", sketch.getKeys(0).getRoutingKey());
            assertEquals(200, sketch.getKeys(0).getCount());
            assertEquals(200.0, sketch.getKeys(0).getDistinctIds(), 4.0);
            assertEquals("shop.checkout", sketch.getHeavyHitters(0).getItem());
            assertEquals(1, sketch.getFieldsCount());
            assertEquals("client_ip", sketch.getFields(0).getField());
            assertEquals(300, sketch.getFields(0).getCount());
            assertEquals("10.0.0.1", sketch.getFields(0).getTop(0).getItem());
            assertTrue(sketch.getFields(0).getTopCount() <= 3);

            io.weft.api.v1.SnapshotResponse snap = io.weft.api.v1.StatsServiceGrpc.newBlockingStub(weftd.channel())
                    .snapshot(io.weft.api.v1.SnapshotRequest.newBuilder().addNamespaces("weftd").build());
            com.google.protobuf.Struct w = snap.getNamespaces().getFieldsOrThrow("weftd").getStructValue();
            assertEquals(300.0, w.getFieldsOrThrow("Sketched Events").getNumberValue());
            assertEquals(2.0, w.getFieldsOrThrow("Sketched Keys").getNumberValue());
            assertEquals(2.0, w.getFieldsOrThrow("Recent Keys").getNumberValue());
            assertEquals(0.0, w.getFieldsOrThrow("Recent Evictions").getNumberValue());

            StatusRuntimeException bad = assertThrows(StatusRuntimeException.class,
                    () -> view.sketch(SketchRequest.newBuilder().addRoutingKeys("shop..x").build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
            assertEquals("INVALID_PATTERN", Api.reason(bad));
            StatusRuntimeException tooMany = assertThrows(StatusRuntimeException.class,
                    () -> view.sketch(SketchRequest.newBuilder().setTop(5000).build()));
            assertEquals("INVALID_ARGUMENT", Api.reason(tooMany));
        }
    }

    @Test
    void shouldRefuseRecentWhenTheCacheIsOff() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().env("WEFT_RECENT", "off").start()) {
            publish(weftd);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> ViewServiceGrpc.newBlockingStub(weftd.channel()).recent(RecentRequest.getDefaultInstance()));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
            assertEquals("the recent-events cache is off (setting recent)", e.getStatus().getDescription());
        }
    }
}
