package io.weft.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What Linux's {@code /proc/<pid>} says about a process. */
final class Proc {
  private final long pid;

  Proc(long pid) {
    this.pid = pid;
  }

  /** The executable's name ({@code comm}), e.g. {@code java}. */
  String command() throws IOException {
    return Files.readString(Path.of("/proc", Long.toString(pid), "comm"), StandardCharsets.US_ASCII).trim();
  }

  /** Resident set size in bytes ({@code VmRSS}). */
  long rssBytes() throws IOException {
    return statusField("VmRSS:") * 1024; // reported in kB
  }

  /** Threads of the process. */
  long threads() throws IOException {
    return statusField("Threads:");
  }

  /** CPU time used by all the process's threads so far (utime + stime), in clock ticks. */
  long cpuTicks() throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of proc(5)
  }

  /**
   * CPU time used so far by the JVM's JIT compiler threads (named {@code C1 CompilerThre…} and
   * {@code C2 CompilerThre…} by HotSpot), in clock ticks; 0 for a process that has none.
   */
  long compilerTicks() throws IOException {
    long ticks = 0;
    List<Path> tasks;
    try (Stream<Path> listing = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      tasks = listing.toList();
    }
    for (Path task : tasks) {
      String stat;
      try {
        stat = Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII);
      } catch (NoSuchFileException ended) {
        continue; // the thread ended since the listing
      }
      String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
      }
    }
    return ticks;
  }

  /** Clock ticks per second ({@code getconf CLK_TCK}), the unit of {@link #cpuTicks()}. */
  static long ticksPerSecond() throws IOException, InterruptedException {
    Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
    if (p.waitFor() != 0) {
      throw new IOException("getconf CLK_TCK failed: " + out);
    }
    return Long.parseLong(out);
  }

  private long statusField(String name) throws IOException {
    Path status = Path.of("/proc", Long.toString(pid), "status");
    for (String line : Files.readAllLines(status, StandardCharsets.US_ASCII)) {
      if (line.startsWith(name)) {
        return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
      }
    }
    throw new IOException("no " + name + " in /proc/" + pid + "/status");
  }
}
