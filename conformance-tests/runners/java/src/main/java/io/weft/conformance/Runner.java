package io.weft.conformance;

import io.weft.sdk.ParallelCallError;
import io.weft.sdk.Weft;
import io.weft.sdk.WeftException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Java runner: reads the driver's JSON lines on stdin, performs each scenario step through
 * the Java SDK's public API and answers one JSON line per command on stdout (protocol:
 * conformance-tests/driver/runners.py; steps: conformance-tests/README.md). Logs go to stderr.
 */
public final class Runner {
  private Session session;

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err); // nothing but replies may reach the driver's stdout
    Runner runner = new Runner();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      Map<String, Object> msg = Json.parseObject(line);
      if ("quit".equals(msg.get("cmd"))) {
        break;
      }
      out.println(Json.print(runner.handle(msg)));
    }
    runner.endSession();
    System.exit(0);
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> handle(Map<String, Object> msg) {
    switch ((String) msg.get("cmd")) {
      case "hello":
        return Map.of("runner", "java", "unsupported", Session.UNSUPPORTED);
      case "begin":
        endSession();
        session = new Session((List<Object>) msg.get("daemons"));
        return Map.of("status", "ok");
      case "end":
        endSession();
        return Map.of("status", "ok");
      case "step":
        return step((String) msg.get("action"), (String) msg.get("daemon"), (Map<String, Object>) msg.get("args"));
      default:
        return Map.of("status", "broken", "detail", "unknown command " + msg.get("cmd"));
    }
  }

  private void endSession() {
    if (session != null) {
      session.close();
      session = null;
    }
  }

  private Map<String, Object> step(String action, String daemon, Map<String, Object> args) {
    if (Session.UNSUPPORTED.containsKey(action)) {
      return Map.of("status", "na", "reason", Session.UNSUPPORTED.get(action));
    }
    Weft client = session.clients.get(daemon == null ? session.defaultDaemon : daemon);
    long t0 = System.nanoTime();
    Map<String, Object> result = new LinkedHashMap<>();
    try {
      Object value = session.perform(action, client, args == null ? Map.of() : args);
      result.put("status", "ok");
      result.put("value", value);
    } catch (Session.NotExpressible e) {
      return Map.of("status", "na", "reason", e.getMessage());
    } catch (WeftException e) {
      result.put("status", "error");
      result.put("error", error(e));
    } catch (Exception | AssertionError e) {
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      return Map.of("status", "broken", "detail", trace.toString());
    }
    result.put("elapsed_ms", (System.nanoTime() - t0) / 1e6);
    return result;
  }

  private static Map<String, Object> error(WeftException e) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("code", e.status().getCode().name());
    out.put("reason", e.reason());
    out.put("message", e.status().getDescription() == null ? "" : e.status().getDescription());
    out.put("metadata", e.metadata());
    if (e instanceof ParallelCallError p) {
      Map<String, Object> failures = new TreeMap<>();
      p.failures().forEach((i, f) -> failures.put(String.valueOf(i), f.reason()));
      out.put("failures", failures);
    }
    return out;
  }
}
