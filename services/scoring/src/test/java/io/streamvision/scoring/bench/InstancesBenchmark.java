package io.streamvision.scoring.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.streamvision.testing.BenchmarkOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One model, raw {@code OrtSession.run}, in the layouts the scoring service can use: one run at a
 * time on ONNX Runtime's default threads (one instance), or several single-threaded runs at once
 * (instances), each alone and beside a thread that keeps half of a core busy the way the broker,
 * the Kafka clients and gRPC do on a shared machine. What {@code execution.instances} is chosen
 * from.
 *
 * <pre>bench/scoring.sh --instances [--model fashion-cnn] [--batch 8] [--seconds 3]</pre>
 */
public final class InstancesBenchmark {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private InstancesBenchmark() {}

    public static void main(String[] args) throws Exception {
        BenchmarkOptions options = BenchmarkOptions.parse(args);
        Path repo = Path.of(options.get("models-dir", "models")).toAbsolutePath();
        String model = options.get("model", "fashion-cnn");
        Path file = options.has("onnx")
                ? Path.of(options.get("onnx"))
                : repo.resolve(model).resolve("1").resolve("model.onnx");
        int batch = options.integer("batch", 8);
        double seconds = options.decimal("seconds", 3);
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(
                "%s, batch %d, %.0f s per row, %d cores; a busy thread takes 0.3 ms of every 0.6 ms%n%n",
                file, batch, seconds, cores);
        System.out.println("| layout | images/s | p50 ms per run | images/s beside a busy thread | p50 ms |");
        System.out.println("|---|---:|---:|---:|---:|");
        try (OrtSession shared = session(file, 0)) {
            row("1 instance, ONNX Runtime's default threads", shared, batch, 1, seconds);
        }
        try (OrtSession single = session(file, 1)) {
            row("1 instance, 1 thread", single, batch, 1, seconds);
            row(cores + " instances, 1 thread each", single, batch, cores, seconds);
        }
        System.out.println();
        System.out.println("Batch 1, one run every 0.6 ms (a caller at a time, as gRPC at concurrency 1):");
        System.out.println("| layout | p50 ms per run | p50 beside a busy thread |");
        System.out.println("|---|---:|---:|");
        try (OrtSession shared = session(file, 0);
                OrtSession single = session(file, 1)) {
            for (OrtSession s : List.of(shared, single)) {
                Measured alone = measure(s, 1, 1, seconds, false, 600);
                Measured busy = measure(s, 1, 1, seconds, true, 600);
                System.out.printf(
                        "| %s | %.3f | %.3f |%n",
                        s == shared ? "ONNX Runtime's default threads" : "1 thread", alone.p50Ms(), busy.p50Ms());
            }
        }
    }

    private static OrtSession session(Path file, int intraOpThreads) throws Exception {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            if (intraOpThreads > 0) {
                options.setIntraOpNumThreads(intraOpThreads);
            }
            return ENV.createSession(file.toString(), options);
        }
    }

    private static void row(String layout, OrtSession session, int batch, int runners, double seconds)
            throws Exception {
        Measured alone = measure(session, batch, runners, seconds, false, 0);
        Measured busy = measure(session, batch, runners, seconds, true, 0);
        System.out.printf(
                "| %s | %.0f | %.2f | %.0f | %.2f |%n",
                layout, alone.imagesPerSecond(), alone.p50Ms(), busy.imagesPerSecond(), busy.p50Ms());
    }

    private record Measured(double imagesPerSecond, double p50Ms) {}

    /**
     * {@code runners} threads each run the session back to back (or {@code pauseMicros} apart) for
     * a warm-up of {@code seconds}, then for {@code seconds} timed.
     */
    private static Measured measure(
            OrtSession session, int batch, int runners, double seconds, boolean busy, long pauseMicros)
            throws Exception {
        Map.Entry<String, NodeInfo> input =
                session.getInputInfo().entrySet().iterator().next();
        long[] shape = ((TensorInfo) input.getValue().getInfo()).getShape().clone();
        shape[0] = batch;
        int elements = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean timing = new AtomicBoolean();
        AtomicLong images = new AtomicLong();
        List<Long> durations = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        for (int r = 0; r < runners; r++) {
            threads.add(new Thread(() -> {
                FloatBuffer data = ByteBuffer.allocateDirect(elements * 4)
                        .order(ByteOrder.nativeOrder())
                        .asFloatBuffer();
                for (int i = 0; i < elements; i++) {
                    data.put(i, (i % 255) / 255f);
                }
                try {
                    while (!stop.get()) {
                        long start = System.nanoTime();
                        try (OnnxTensor x = OnnxTensor.createTensor(ENV, data, shape);
                                OrtSession.Result ignored = session.run(Map.of(input.getKey(), x))) {
                            // the outputs are not read
                        }
                        if (timing.get()) {
                            durations.add(System.nanoTime() - start);
                            images.addAndGet(batch);
                        }
                        if (pauseMicros > 0) {
                            LockSupport.parkNanos(pauseMicros * 1000);
                        }
                    }
                } catch (Exception e) {
                    failures.add(e);
                }
            }));
        }
        Thread hog = busy ? new Thread(() -> busyHalf(stop)) : null;
        if (hog != null) {
            hog.start();
        }
        threads.forEach(Thread::start);
        Thread.sleep((long) (seconds * 1000));
        timing.set(true);
        Thread.sleep((long) (seconds * 1000));
        timing.set(false);
        long counted = images.get();
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        if (hog != null) {
            hog.join();
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("a run failed", failures.get(0));
        }
        List<Long> sorted;
        synchronized (durations) {
            sorted = new ArrayList<>(durations);
        }
        sorted.sort(null);
        double p50 = sorted.isEmpty() ? Double.NaN : sorted.get(sorted.size() / 2) / 1e6;
        return new Measured(counted / seconds, p50);
    }

    /** Where the busy thread's count goes, so the compiler keeps its loop. */
    private static volatile long spun;

    /** Keeps a core busy half of the time, in 0.3 ms slices, until stopped. */
    private static void busyHalf(AtomicBoolean stop) {
        long count = 0;
        while (!stop.get()) {
            long end = System.nanoTime() + 300_000;
            while (System.nanoTime() < end) {
                count++;
            }
            LockSupport.parkNanos(300_000);
        }
        spun = count;
    }
}
