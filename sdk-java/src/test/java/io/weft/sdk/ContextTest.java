package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.LogLevel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ContextTest {
  private final List<ContextEvent> sent = new ArrayList<>();

  private Context.Builder context(String key) {
    return new Context.Builder(event -> sent.add(event.get()), key);
  }

  private ContextEvent last() {
    return sent.get(sent.size() - 1);
  }

  private static Value num(double d) {
    return Value.newBuilder().setNumberValue(d).build();
  }

  @Test
  void shouldSendBornWithFieldsAndHeadersWhenOpened() {
    long before = System.currentTimeMillis() * 1_000_000L;
    Context ctx = context("app.request").field("url", "/x").header("env", "prod").open();

    assertEquals(1, sent.size());
    ContextEvent born = sent.get(0);
    assertEquals(EventKind.EVENT_KIND_BORN, born.getKind());
    assertEquals(ctx.id(), born.getId());
    assertEquals("app.request", born.getRoutingKey());
    assertEquals("/x", born.getFields().getFieldsOrThrow("url").getStringValue());
    assertEquals(Map.of("env", "prod"), born.getHeadersMap());
    assertEquals(1, born.getSeq());
    assertTrue(born.getTimeUnixNanos() >= before, "time from the SDK's clock");
    assertEquals(ctx.id(), UUID.fromString(ctx.id()).toString(), "default id is a UUID");
  }

  @Test
  void shouldSendOneUpdatePerSetWhenFieldsChange() {
    Context ctx = context("a").open();
    ctx.set("status", 200).set("ok", true);

    assertEquals(3, sent.size());
    ContextEvent first = sent.get(1);
    assertEquals(EventKind.EVENT_KIND_UPDATE, first.getKind());
    assertEquals(Map.of("status", num(200)), first.getFields().getFieldsMap());
    assertEquals(0, first.getHeadersCount(), "headers travel on the birth only");
    assertEquals(Map.of("ok", Values.toValue(true)), sent.get(2).getFields().getFieldsMap());
  }

  @Test
  void shouldPackAllFieldsInOneUpdateWhenUpdatingWithMap() {
    Context ctx = context("a").open();
    ctx.update(Map.of("a", 1, "b", 2));

    assertEquals(2, sent.size());
    assertEquals(Map.of("a", num(1), "b", num(2)), last().getFields().getFieldsMap());
  }

  @Test
  void shouldIncreaseSeqByOneWhenEachEventIsSent() {
    Context ctx = context("a").open();
    ctx.set("x", 1);
    ctx.update(Map.of("y", 2));
    ctx.log(Level.INFO, "hi");
    ctx.delete("x");
    ctx.close();

    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), sent.stream().map(ContextEvent::getSeq).toList());
    assertEquals(EventKind.EVENT_KIND_FINISHED, last().getKind());
    assertEquals(0, last().getFields().getFieldsCount());
  }

  @Test
  void shouldNeverSendIgnoredNamesWhenBornSetUpdatedLoggedOrDeleted() {
    Map<String, Object> initial = new LinkedHashMap<>();
    initial.put("user", "ann");
    initial.put("password", "secret");
    Context ctx = context("a").fields(initial).ignore("password", "token").open();
    ctx.set("token", "t");
    ctx.update(Map.of("token", "t"));
    ctx.update(Map.of("token", "t", "n", 1));
    ctx.log(Level.INFO, "pw {password}", Map.of("token", "t"));
    ctx.delete("password");

    assertEquals(Map.of("user", Values.toValue("ann")), sent.get(0).getFields().getFieldsMap());
    assertEquals(3, sent.size(), "born, the update with n, the log; nothing else");
    assertEquals(Map.of("n", num(1)), sent.get(1).getFields().getFieldsMap());
    ContextEvent log = sent.get(2);
    assertEquals("pw {password}", log.getMessage(), "an ignored field is not rendered either");
    assertEquals(0, log.getFields().getFieldsCount());
    assertFalse(sent.toString().contains("secret"));
  }

  @Test
  void shouldSendLinkedContextAsItsIdWhenUsedAsValue() {
    Context parent = context("parent").guid("p-1").open();
    Context child = context("child").field("parent", parent).open();
    child.set("peers", List.of(parent));

    assertEquals("p-1", sent.get(1).getFields().getFieldsOrThrow("parent").getStringValue());
    assertEquals("p-1",
        last().getFields().getFieldsOrThrow("peers").getListValue().getValues(0).getStringValue());
  }

  @Test
  void shouldRenderMessageWithCurrentFieldsAndSendKwargsWhenLogging() {
    Context ctx = context("a").field("foo", 1).open();
    ctx.set("bar", 2);
    ctx.log(Level.WARNING, "my foo is {foo} and my bar is {bar}, baz {baz}, {nope}",
        Map.of("baz", "z"));

    ContextEvent log = last();
    assertEquals(EventKind.EVENT_KIND_LOG, log.getKind());
    assertEquals(LogLevel.LOG_LEVEL_WARNING, log.getLevel());
    assertEquals("my foo is 1 and my bar is 2, baz z, {nope}", log.getMessage());
    assertEquals(Map.of("baz", Values.toValue("z")), log.getFields().getFieldsMap());
  }

  @Test
  void shouldRenderWithoutDeletedFieldWhenDeleted() {
    Context ctx = context("a").field("foo", 1).open();
    ctx.delete("foo", "other");
    ctx.log(Level.DEBUG, "{foo}");

    ContextEvent delete = sent.get(1);
    assertEquals(EventKind.EVENT_KIND_DELETE, delete.getKind());
    assertEquals(List.of("foo", "other"), delete.getDeletedList());
    assertEquals("{foo}", last().getMessage());
  }

  @Test
  void shouldFinishOnceAndIgnoreLaterOperationsWhenClosed() {
    Context ctx;
    try (Context c = context("a").open()) {
      ctx = c;
    }
    ctx.close();
    ctx.set("x", 1);
    ctx.update(Map.of("y", 1));
    ctx.log(Level.INFO, "late");
    ctx.delete("x");

    assertTrue(ctx.isClosed());
    assertEquals(List.of(EventKind.EVENT_KIND_BORN, EventKind.EVENT_KIND_FINISHED),
        sent.stream().map(ContextEvent::getKind).toList());
  }

  @Test
  void shouldSendNothingWhenValueIsNotJson() {
    Context ctx = context("a").open();
    WeftException e = assertThrows(WeftException.class, () -> ctx.set("when", Instant.now()));
    assertEquals("NOT_JSON", e.reason());
    assertThrows(WeftException.class, () -> ctx.update(Map.of("ok", 1, "bad", Double.NaN)));
    ctx.set("next", 1);

    assertEquals(2, sent.size());
    assertEquals(2, last().getSeq(), "a refused value uses no seq");
    assertThrows(WeftException.class, () -> context("b").field("bad", new Object()).open());
    assertEquals(2, sent.size());
  }

  @Test
  void shouldSendOneTransientEventWhenPublishedTransient() {
    String id = context("batch.job").guid("job-7").field("rows", 10).header("h", "v")
        .ignore("rows").field("ok", true).publishTransient();

    assertEquals("job-7", id);
    assertEquals(1, sent.size());
    ContextEvent t = sent.get(0);
    assertEquals(EventKind.EVENT_KIND_TRANSIENT, t.getKind());
    assertEquals(1, t.getSeq());
    assertEquals(Map.of("ok", Values.toValue(true)), t.getFields().getFieldsMap());
    assertEquals(Map.of("h", "v"), t.getHeadersMap());
  }

  @Test
  void shouldUseGuidAndShowKeyWhenPrinted() {
    Context ctx = context("app.x").guid("1234").open();
    assertEquals("1234", ctx.id());
    assertEquals("app.x[1234]", ctx.toString());
  }

  @Test
  void shouldRefuseIdOrKeyWhenInvalid() {
    assertEquals("INVALID_ID",
        assertThrows(WeftException.class, () -> context("a").guid("")).reason());
    assertEquals("INVALID_ID",
        assertThrows(WeftException.class, () -> context("a").guid("x".repeat(129))).reason());
    assertEquals("INVALID_ID",
        assertThrows(WeftException.class, () -> context("a").guid("a\nb")).reason());
    assertEquals("INVALID_ROUTING_KEY",
        assertThrows(WeftException.class, () -> context("a b")).reason());
    assertTrue(sent.isEmpty());
  }

  @Test
  void shouldRefuseHeaderWhenNameOrValueBreaksWeftdsRule() {
    Context.Builder b = context("app.hdr");
    for (String[] bad : new String[][] {
        {"env", "pr\u0007od"}, {"env", "x".repeat(4097)}, {"", "v"}, {"n".repeat(256), "v"}, {"e\tnv", "v"}}) {
      WeftException e = assertThrows(WeftException.class, () -> b.header(bad[0], bad[1]));
      assertEquals("INVALID_HEADER", e.reason());
      assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, e.status().getCode());
    }
    b.header("env", "é".repeat(2048)).header("n".repeat(255), "").open();
    assertEquals(1, sent.size(), "only the valid birth was sent");
    assertEquals("é".repeat(2048), sent.get(0).getHeadersMap().get("env"));
  }
}
