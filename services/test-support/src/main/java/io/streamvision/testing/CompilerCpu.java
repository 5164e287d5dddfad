package io.streamvision.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * CPU time a JVM's JIT compiler threads have used, from {@code /proc/<pid>/task/<tid>/stat} (the
 * threads HotSpot names {@code C1 CompilerThread<n>} and {@code C2 CompilerThread<n>}): a benchmark
 * reads it to tell a warm process from one still compiling, and to show the compiler's share of
 * what it measured. On three services and a broker sharing two cores the compiler keeps working
 * for minutes after throughput looks steady. Linux only; -1 elsewhere.
 */
public final class CompilerCpu {

    /** USER_HZ: the unit of the stat file's CPU times, 100 on every Linux ABI the JDK runs on. */
    private static final double MS_PER_TICK = 10.0;

    private CompilerCpu() {}

    /** Milliseconds of CPU the compiler threads of process {@code pid} have used so far; -1 if unknown. */
    public static double ms(long pid) {
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        if (!Files.isDirectory(tasks)) {
            return -1;
        }
        long ticks = 0;
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
            for (Path thread : threads) {
                ticks += compilerTicks(thread.resolve("stat"));
            }
        } catch (IOException e) {
            return -1;
        }
        return ticks * MS_PER_TICK;
    }

    /**
     * Milliseconds of CPU the whole process {@code pid} has used so far (the denominator of the
     * compiler's share); 0 if unknown.
     */
    public static double processMs(long pid) {
        return ProcessHandle.of(pid)
                        .flatMap(h -> h.info().totalCpuDuration())
                        .orElse(Duration.ZERO)
                        .toNanos()
                / 1e6;
    }

    /** utime + stime of a compiler thread's stat line, 0 for any other thread or one that has ended. */
    static long compilerTicks(Path stat) throws IOException {
        String line;
        try {
            line = Files.readString(stat, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return 0;
        }
        return compilerTicks(line);
    }

    /** The same from the line itself: {@code tid (comm) state ...}, utime and stime fields 14 and 15. */
    static long compilerTicks(String line) {
        int open = line.indexOf('(');
        int close = line.lastIndexOf(')');
        if (open < 0 || close < open) {
            return 0;
        }
        String comm = line.substring(open + 1, close);
        if (!comm.startsWith("C1 CompilerThre") && !comm.startsWith("C2 CompilerThre")) {
            return 0;
        }
        // after "(comm) ": field 3 (state) is index 0, so utime (14) is index 11 and stime (15) 12
        String[] fields = line.substring(close + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
