package io.weft.daemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.Struct;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.weft.api.v1.AdminServiceGrpc;
import io.weft.api.v1.ContextEvent;
import io.weft.api.v1.ContextServiceGrpc;
import io.weft.api.v1.EventKind;
import io.weft.api.v1.FlushRequest;
import io.weft.api.v1.PublishEventsRequest;
import io.weft.api.v1.QueuesRequest;
import io.weft.daemon.testing.Poll;
import io.weft.daemon.testing.Rabbit;
import io.weft.daemon.testing.WeftdProcess;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code weft mon} against a real weftd and a real RabbitMQ: every source and lcmon's options. */
class WeftMonIT {

    private static final Duration READY = Duration.ofSeconds(20);
    private static final long EXIT_TIMEOUT_S = 30;

    @TempDir
    Path tmp;

    @Test
    void shouldPrintMatchingMessagesFromTheDaemonWhenNoBusOptionIsGiven() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().start()) {
            Mon mon = mon(weftd, null, "-n", "2", "-r", "shop.#", "-k", "status", "obj_id");
            Poll.until(READY, () -> watching(weftd), "weft mon is watching");
            publish(weftd, born("m-1", "other.thing", "{\"status\": 1}"), born("m-2", "shop.cart", "{\"status\": 2}"),
                    finished("m-2", "shop.cart", 2));
            Run r = mon.await();
            assertEquals(0, r.code, r.toString());
            assertEquals(List.of("{\"status\":\"born\",\"obj_id\":\"m-2\"}", "{\"status\":\"finished\",\"obj_id\":\"m-2\"}"),
                    r.lines(), "-k finds keys breadth-first in the whole message; -r filters");
        }
    }

    @Test
    void shouldReadBackAndCollateWhenVerboseOutputIsSavedToAFile() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess weftd = onBus(ex).start()) {
            Mon mon = mon(weftd, null, "-u", Rabbit.url(), "-e", ex.name(), "-r", "shop.#", "-v", "-n", "3");
            Poll.until(READY, () -> bound(ex.name()), "weft mon bound its queue");
            publish(weftd, born("v-1", "shop.cart", "{\"url\": \"http://x\", \"secret\": \"s\"}"),
                    update("v-1", "shop.cart", 2, "{\"status\": 200}"), finished("v-1", "shop.cart", 3));
            Run saved = mon.await();
            assertEquals(0, saved.code, saved.toString());
            assertEquals(3, saved.lines().size(), saved.toString());
            JsonObject first = JsonParser.parseString(saved.lines().get(0)).getAsJsonObject();
            assertEquals("shop.cart", first.get("routing_key").getAsString());
            assertEquals(weftd.daemonId(), first.getAsJsonObject("headers").get("hostname").getAsString());
            assertEquals("born", first.getAsJsonObject("object").get("status").getAsString());
            assertTrue(first.getAsJsonObject("object").has("handler_id"), "the body as it was on the bus");
            Path file = tmp.resolve("saved.jsonl");
            Files.writeString(file, saved.out);

            Run collated = runWithStdin(file, "mon", "-s", "-c", "-t", "secret");
            assertEquals(0, collated.code, collated.toString());
            assertEquals(List.of("{\"url\":\"http://x\",\"status\":200}"), collated.lines());

            Run verbose = runWithStdin(file, "mon", "-s", "-c", "-v");
            JsonObject obj = JsonParser.parseString(verbose.lines().get(0)).getAsJsonObject();
            assertEquals("finished", obj.get("state").getAsString());
            assertEquals(weftd.daemonId(), obj.get("daemon").getAsString());

            Run messages = runWithStdin(file, "mon", "-s", "-k", "status");
            assertEquals(List.of("{\"status\":\"born\"}", "{\"status\":200}", "{\"status\":\"finished\"}"), messages.lines(),
                    "-k without -c searches each message breadth-first: the body's status before obj.status");
        }
    }

    @Test
    void shouldBindHeaderArgumentsWhenReadingTheBusWithXMatchAny() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess weftd = onBus(ex).start()) {
            Mon mon = mon(weftd, null, "-u", Rabbit.url(), "-e", ex.name(), "-a", "env=prod", "team=blue", "-x", "any",
                    "-n", "1", "-k", "obj_id");
            Poll.until(READY, () -> bound(ex.name() + ".headers"), "weft mon bound to the headers exchange");
            publish(weftd, born("h-1", "a.b", "{}").toBuilder().putHeaders("env", "dev").build());
            publish(weftd, born("h-2", "a.b", "{}").toBuilder().putHeaders("team", "blue").build());
            Run r = mon.await();
            assertEquals(List.of("{\"obj_id\":\"h-2\"}"), r.lines(), r.toString());
        }
    }

    @Test
    void shouldReportEveryMessageTheBusDroppedWhenTheMonitorFallsBehind() throws Exception {
        int sent = 20_000;
        byte[] body = ("{\"obj_id\":\"lag\",\"status\":\"transient\",\"obj\":{\"pad\":\"" + "x".repeat(500) + "\"}}")
                .getBytes(StandardCharsets.UTF_8);
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess none = WeftdProcess.builder().create();
                Connection c = Rabbit.connect();
                Channel ch = c.createChannel()) {
            ch.exchangeDeclare(ex.name(), "topic", true);
            Mon mon = mon(none, null, "-u", Rabbit.url(), "-e", ex.name(), "-r", "lag.#", "--queue-max-length", "100",
                    "-k", "obj_id");
            try {
                Poll.until(READY, () -> bound(ex.name()), "weft mon bound to the exchange");
                // Stopped, it reads nothing: its queue overflows and RabbitMQ dead-letters the oldest.
                signal(mon.process(), "STOP");
                try {
                    ch.confirmSelect();
                    AMQP.BasicProperties json = new AMQP.BasicProperties.Builder().contentType("application/json").build();
                    for (int i = 0; i < sent; i++) {
                        ch.basicPublish(ex.name(), "lag.x", json, body);
                    }
                    ch.waitForConfirmsOrDie(60_000);
                } finally {
                    signal(mon.process(), "CONT");
                }
                Poll.until(Duration.ofSeconds(60), () -> mon.printed() + mon.reportedDrops() == sent,
                        () -> "printed " + mon.printed() + " + reported dropped " + mon.reportedDrops() + " of " + sent);
                assertTrue(mon.reportedDrops() > 0, "the stalled monitor's queue of 100 overflowed");
            } finally {
                mon.process().destroy();
            }
        }
    }

    @Test
    void shouldConsumeAnExistingQueueWhenGivenOne() throws Exception {
        String queue = "weft-test-mon-" + UUID.randomUUID();
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess weftd = onBus(ex).start();
                Connection c = Rabbit.connect();
                Channel ch = c.createChannel()) {
            ch.exchangeDeclare(ex.name(), "topic", true);
            ch.queueDeclare(queue, false, false, true, null);
            ch.queueBind(queue, ex.name(), "#");
            publish(weftd, born("q-1", "x.y", "{\"a\": \"\", \"b\": 1}"), finished("q-1", "x.y", 2));
            Run r = run(weftd, "mon", "-u", Rabbit.url(), "-q", queue, "-n", "2", "-k", "obj", "-z", "-p");
            assertEquals(0, r.code, r.toString());
            assertTrue(r.out.contains("\"b\": 1") && !r.out.contains("\"a\""), "-z drops empty values, -p indents: " + r.out);
            assertTrue(r.out.lines().count() > 2, "pretty output spans lines");
            ch.queueDelete(queue);
        }
    }

    @Test
    void shouldReadTheFleetViewThroughTheDaemonWhenAskedForTheFleet() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess publisher = onBus(ex).start();
                WeftdProcess fleet = onBus(ex).start()) {
            Mon mon = mon(fleet, null, "--fleet", "-c", "-v", "-n", "1");
            Poll.until(READY, () -> monitorConsuming(fleet), "the fleet daemon consumes for weft mon");
            publish(publisher, born("f-1", "x.y", "{\"n\": 1}"), finished("f-1", "x.y", 2));
            Run r = mon.await();
            JsonObject obj = JsonParser.parseString(r.lines().get(0)).getAsJsonObject();
            assertEquals("f-1", obj.get("id").getAsString());
            assertEquals(publisher.daemonId(), obj.get("daemon").getAsString(), "collated from the other daemon");
        }
    }

    @Test
    void shouldListAndGetTheFleetViewWhenLsAndGetAreGivenFleet() throws Exception {
        try (Rabbit.Exchange ex = Rabbit.exchange();
                WeftdProcess publisher = onBus(ex).start();
                WeftdProcess fleet = onBus(ex).env("WEFT_BUS_FLEET", "#").start()) {
            Poll.until(READY, () -> monitorConsuming(fleet), "the fleet daemon follows the bus");
            publish(publisher, born("l-1", "x.y", "{\"n\": 1}"));
            Poll.until(READY, () -> {
                try {
                    return runWeft(fleet, "ls", "--fleet").out.contains("\"n\":1");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "weft ls --fleet lists the other daemon's object");
            Run got = runWeft(fleet, "get", "--fleet", "-v", "l-1");
            assertEquals(0, got.code, got.toString());
            assertEquals(publisher.daemonId(), JsonParser.parseString(got.out).getAsJsonObject().get("daemon").getAsString());
            Run local = runWeft(publisher, "ls", "--fleet");
            assertEquals(1, local.code, "no bus.fleet on this daemon: " + local);
            assertTrue(local.err.contains("BUS_UNAVAILABLE") || local.err.contains("bus.fleet"), local.err);
        }
    }

    @Test
    void shouldRefuseConflictingOptionsWithExitCode2() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().start()) {
            Run stdinAndBus = run(weftd, "mon", "-s", "-u", "amqp://localhost");
            assertEquals(2, stdinAndBus.code);
            assertTrue(stdinAndBus.err.contains("-s reads standard input"), stdinAndBus.err);
            Run fleetAndBus = run(weftd, "mon", "--fleet", "-H", "localhost");
            assertEquals(2, fleetAndBus.code);
            Run badMatch = run(weftd, "mon", "-x", "some");
            assertEquals(2, badMatch.code, badMatch.toString());
            Run notAmqp = run(weftd, "mon", "-u", "http://mq:5672/");
            assertEquals(2, notAmqp.code, notAmqp.toString());
            assertTrue(notAmqp.err.contains("not an AMQP URL"), notAmqp.err);
            Run unreachable = run(weftd, "mon", "-u", "amqp://guest:guest@127.0.0.1:1/%2F");
            assertEquals(1, unreachable.code, unreachable.toString());
            assertTrue(unreachable.err.contains("cannot reach the bus at amqp://127.0.0.1:1/%2F"),
                    "says where, without the password: " + unreachable.err);
            Run badCount = run(weftd, "mon", "-n", "-1");
            assertEquals(2, badCount.code);
            assertTrue(badCount.err.contains("--count"), badCount.err);
            Run lengthWithoutBus = run(weftd, "mon", "--queue-max-length", "10");
            assertEquals(2, lengthWithoutBus.code, lengthWithoutBus.toString());
            assertTrue(lengthWithoutBus.err.contains("--queue-max-length bounds the temporary queue"), lengthWithoutBus.err);
            Run lengthOfExistingQueue = run(weftd, "mon", "-u", "amqp://localhost", "-q", "q", "--queue-max-length", "10");
            assertEquals(2, lengthOfExistingQueue.code, lengthOfExistingQueue.toString());
            Run zeroLength = run(weftd, "mon", "-u", "amqp://localhost", "--queue-max-length", "0");
            assertEquals(2, zeroLength.code, zeroLength.toString());
            assertTrue(zeroLength.err.contains("must be 1 or more"), zeroLength.err);
            Run help = run(weftd, "mon", "--help");
            for (String option : List.of("-r,", "-a,", "-x,", "-e,", "-H,", "-u,", "-q,", "-s,", "-k,", "-t,", "-c,", "-p,",
                    "-v,", "-z,", "-n,", "--fleet", "--queue-max-length")) {
                assertTrue(help.out.contains(option), "--help documents " + option + ":\n" + help.out);
            }
            assertTrue(help.out.contains("Default: weft"), "defaults are stated:\n" + help.out);
        }
    }

    private static WeftdProcess.Builder onBus(Rabbit.Exchange ex) {
        return WeftdProcess.builder().env("WEFT_BUS_URL", Rabbit.url()).env("WEFT_BUS_EXCHANGE", ex.name());
    }

    private static boolean watching(WeftdProcess d) {
        return AdminServiceGrpc.newBlockingStub(d.channel()).queues(QueuesRequest.getDefaultInstance()).getQueuesList()
                .stream().anyMatch(q -> q.getName().startsWith("watch."));
    }

    private static boolean monitorConsuming(WeftdProcess d) {
        return d.queue("bus.monitor").getDepth() > 0;
    }

    /** True once some queue is bound to the exchange (rabbitmqctl list_bindings). */
    private static boolean bound(String exchange) {
        try {
            Process p = new ProcessBuilder("rabbitmqctl", "-q", "list_bindings", "source_name", "destination_kind")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return out.lines().anyMatch(l -> l.startsWith(exchange + "\tqueue"));
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void publish(WeftdProcess d, ContextEvent... events) {
        ContextServiceGrpc.ContextServiceBlockingStub c =
                ContextServiceGrpc.newBlockingStub(d.channel()).withDeadlineAfter(20, TimeUnit.SECONDS);
        c.publishEvents(PublishEventsRequest.newBuilder().addAllEvents(List.of(events)).build());
        assertTrue(c.flush(FlushRequest.getDefaultInstance()).getComplete());
    }

    private static ContextEvent born(String id, String rk, String json) {
        return ContextEvent.newBuilder().setId(id).setRoutingKey(rk).setKind(EventKind.EVENT_KIND_BORN).setSeq(1)
                .setFields(fields(json)).build();
    }

    private static ContextEvent update(String id, String rk, long seq, String json) {
        return ContextEvent.newBuilder().setId(id).setRoutingKey(rk).setKind(EventKind.EVENT_KIND_UPDATE).setSeq(seq)
                .setFields(fields(json)).build();
    }

    private static ContextEvent finished(String id, String rk, long seq) {
        return ContextEvent.newBuilder().setId(id).setRoutingKey(rk).setKind(EventKind.EVENT_KIND_FINISHED).setSeq(seq)
                .build();
    }

    private static Struct fields(String json) {
        return ObjectJson.parseVerbose("{\"obj\": " + json + "}").getFields();
    }

    /** Starts {@code weft mon} in the background, its output going to files. */
    private Mon mon(WeftdProcess weftd, Path stdin, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(WeftdProcess.launcherDir().resolve("weft").toString(), "mon"));
        cmd.addAll(List.of(args));
        File out = Files.createTempFile(tmp, "mon", ".out").toFile();
        File err = Files.createTempFile(tmp, "mon", ".err").toFile();
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out).redirectError(err);
        pb.environment().keySet().removeIf(k -> k.startsWith("WEFT_"));
        pb.environment().put("WEFT_ADDR", weftd.target());
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        }
        return new Mon(pb.start(), out, err);
    }

    /** Runs any weft command (not only mon) against a daemon. */
    private Run runWeft(WeftdProcess weftd, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(WeftdProcess.launcherDir().resolve("weft").toString()));
        cmd.addAll(List.of(args));
        File out = Files.createTempFile(tmp, "weft", ".out").toFile();
        File err = Files.createTempFile(tmp, "weft", ".err").toFile();
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out).redirectError(err);
        pb.environment().keySet().removeIf(k -> k.startsWith("WEFT_"));
        pb.environment().put("WEFT_ADDR", weftd.target());
        return new Mon(pb.start(), out, err).await();
    }

    private Run run(WeftdProcess weftd, String... args) throws Exception {
        List<String> rest = new ArrayList<>(List.of(args).subList(1, args.length));
        return mon(weftd, null, rest.toArray(String[]::new)).await();
    }

    private Run runWithStdin(Path stdin, String... args) throws Exception {
        List<String> rest = new ArrayList<>(List.of(args).subList(1, args.length));
        try (WeftdProcess none = WeftdProcess.builder().create()) {
            return mon(none, stdin, rest.toArray(String[]::new)).await();
        }
    }

    private static void signal(Process p, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -" + signal);
    }

    /** A running {@code weft mon}. */
    private record Mon(Process process, File out, File err) {
        private static final Pattern DROPPED = Pattern.compile("^warning: (\\d+) events dropped by the bus", Pattern.MULTILINE);

        /** Lines printed so far (a line being written is not counted). */
        long printed() {
            String s = read(out);
            return s.isEmpty() ? 0 : s.lines().count() - (s.endsWith("\n") ? 0 : 1);
        }

        /** The sum of the drops reported on standard error so far. */
        long reportedDrops() {
            Matcher m = DROPPED.matcher(read(err));
            long n = 0;
            while (m.find()) {
                n += Long.parseLong(m.group(1));
            }
            return n;
        }

        private static String read(File f) {
            try {
                return Files.readString(f.toPath());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Run await() throws Exception {
            if (!process.waitFor(EXIT_TIMEOUT_S, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("weft mon did not exit within " + EXIT_TIMEOUT_S + " s; output:\n"
                        + Files.readString(out.toPath()) + Files.readString(err.toPath()));
            }
            return new Run(process.exitValue(), Files.readString(out.toPath()), Files.readString(err.toPath()));
        }
    }

    /** One finished run. */
    private record Run(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        @Override
        public String toString() {
            return "exit " + code + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }
}
