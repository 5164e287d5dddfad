package io.streamvision.scoring.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ServerLiveRequest;
import io.streamvision.proto.inference.ServerReadyRequest;
import io.streamvision.runtime.Tensors;
import io.streamvision.testing.BenchmarkOptions;
import io.streamvision.testing.CompilerCpu;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.Settling;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TopicCollector;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Scoring throughput, every path beside its ceiling in one run: raw {@code OrtSession.run} in this
 * JVM; gRPC ModelInfer against the packaged service at concurrency 1 and 8 (images/s, p50, p99);
 * the Kafka path end to end (tensor records in, scores out, through the transactional loop and the
 * dynamic batcher). Prints a Markdown table. The ceiling is measured again once the service and the
 * broker are up and idle, and each service row's share of that is printed below the table. For a model whose image input accepts UINT8 pixels, the
 * Kafka records carry UINT8 as preprocess writes them (unless {@code --kafka-fp32 true}), and a
 * gRPC row sends UINT8 beside the FP32 rows.
 *
 * <pre>
 * bench/scoring.sh --model fashion-cnn --batch 8
 * bench/scoring.sh --onnx ~/.cache/vision-zoo/resnet50/model.onnx --batch 4
 * bench/scoring.sh --model fashion-cnn --batch 32 --ceiling-only true   # raw ONNX Runtime only
 * </pre>
 */
public final class ScoringBenchmark {

    public static void main(String[] args) throws Exception {
        BenchmarkOptions options = BenchmarkOptions.parse(args);
        int batch = options.integer("batch", 8);
        double seconds = options.decimal("seconds", 10);
        int kafkaImages = options.integer("kafka-images", 2000);
        Path repo;
        String model;
        if (options.has("onnx")) {
            Path onnx = Path.of(options.get("onnx"));
            model = options.get("name", onnx.getParent().getFileName().toString());
            repo = ZooRepository.wrap(onnx, model);
        } else {
            model = options.get("model", "fashion-cnn");
            repo = Path.of(options.get("models-dir", "models")).toAbsolutePath();
        }
        Path onnxFile = repo.resolve(model).resolve("1").resolve("model.onnx");
        ModelConfig config = new ModelRepository(repo).latest(model).orElseThrow();
        boolean uint8 = config.imageInput() != null
                && Boolean.TRUE.equals(config.imageInput().acceptsUint8());
        int threads = Runtime.getRuntime().availableProcessors();
        System.out.printf("Model %s, batch %d, %d s per measurement, %d cores%n", model, batch, (int) seconds, threads);

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String inputName;
        long[] rowShape;
        try (OrtSession session = env.createSession(onnxFile.toString(), new OrtSession.SessionOptions())) {
            Map.Entry<String, NodeInfo> input =
                    session.getInputInfo().entrySet().iterator().next();
            inputName = input.getKey();
            rowShape = ((TensorInfo) input.getValue().getInfo()).getShape().clone();
            rowShape[0] = 1;
        }
        long rowElements = Arrays.stream(rowShape).reduce(1, (a, b) -> a * b);
        int intraOp = options.integer("intra-op-threads", 0);
        if (options.has("ceiling-only")) {
            Result only = rawOrt(env, onnxFile, inputName, rowShape, batch, seconds, intraOp);
            System.out.printf(
                    Locale.ROOT,
                    "raw OrtSession.run, %s batch %d: %.0f images/s (p50 %.2f ms per batch)%n"
                            + "ceiling images_per_second=%f p50_ms=%f p99_ms=%f%n",
                    model,
                    batch,
                    only.imagesPerSecond(),
                    only.p50Ms(),
                    only.imagesPerSecond(),
                    only.p50Ms(),
                    only.p99Ms());
            return;
        }
        Pinning pin = Pinning.of(options);
        if (pin.on()) {
            // Pinned, the service gets its cores to itself and the ceiling runs on those same cores
            // with the same intra-op threads, in a child JVM; this JVM (the broker and the clients)
            // is on the other cores (bench/scoring.sh --pin starts it there).
            intraOp = intraOp > 0 ? intraOp : pin.cores();
            System.out.printf(
                    "Pinned: service and ceiling on cores %s, %d intra-op threads; broker and clients on the others%n",
                    pin.cpus(), intraOp);
        }
        final int threadsPerRun = intraOp;
        Ceiling raw = (b, s) -> pin.on()
                ? pin.ceiling(options, model, repo, b, s, threadsPerRun)
                : rawOrt(env, onnxFile, inputName, rowShape, b, s, threadsPerRun);
        Result ceiling = raw.run(batch, seconds);
        Result rawOne = raw.run(1, Math.min(seconds, 3));
        Result torch = torchEager(options, model, batch, seconds, pin, intraOp);

        TestBroker broker = TestBrokers.startNew();
        Process service = null;
        Path log = Files.createTempFile("scoring-bench-", ".log");
        try {
            String java =
                    Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> command = new ArrayList<>(pin.prefix());
            command.add(java);
            // Extra JVM options for the service, e.g. a JFR recording to find where its time goes.
            String extra = System.getenv().getOrDefault("SCORING_JAVA_OPTS", "").trim();
            if (!extra.isEmpty()) {
                command.addAll(List.of(extra.split("\\s+")));
            }
            command.addAll(List.of(
                    "-Dkafka.bootstrap.servers=" + broker.bootstrapServers(),
                    "-Dvision.kafka.topic-suffix=.bench",
                    "-Dvision.scoring.models-dir=" + repo,
                    "-Dvision.scoring.models=" + model,
                    "-Dquarkus.http.port=18002",
                    "-Dquarkus.management.port=18012",
                    "-Dquarkus.grpc.server.port=18001",
                    "-Dvision.scoring.kafka.transactional-id=bench"));
            // Pinned without --intra-op-threads, the service picks its threads from the cores it
            // has, as it would in a container given that many.
            if (options.has("intra-op-threads")) {
                command.add("-Dvision.scoring.execution.intra-op-threads=" + intraOp);
            }
            if (options.has("kafka-poll-records")) {
                command.add("-Dvision.scoring.kafka.max-poll-records=" + options.get("kafka-poll-records"));
            }
            command.addAll(List.of("-jar", options.get("jar", "services/scoring/target/quarkus-app/quarkus-run.jar")));
            service = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", 18001)
                    .usePlaintext()
                    .maxInboundMessageSize(64 * 1024 * 1024)
                    .build();
            GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub =
                    GRPCInferenceServiceGrpc.newBlockingStub(channel);
            waitReady(stub, service, log);
            ModelInferRequest single = request(model, inputName, rowShape, 1, rowElements, false);
            ModelInferRequest request = request(model, inputName, rowShape, batch, rowElements, false);
            // Warm-up: the service's JIT compiles its hot paths before anything is measured.
            double warmup = options.decimal("warmup", 3);
            grpc(stub, single, 1, 1, warmup / 3);
            // Then rounds at the busiest setting until two in a row agree within 5% and the JIT
            // compiler took under 5% of the service's CPU: on one core it takes turns with the work
            // for much longer than on many.
            ServiceSide warming = new ServiceSide(service);
            Settling settling = new Settling();
            for (int round = 1; round <= 30; round++) {
                warming.mark();
                Result r = grpc(stub, request, 8, batch, 2 * warmup / 3);
                double rate = r.imagesPerSecond();
                Side warmed = warming.since();
                double cpu = warmed.serviceCpuMs() / Math.max(1, r.images());
                System.out.printf(
                        Locale.ROOT,
                        "gRPC warm-up round %d: %.0f images/s, service CPU %.3f ms per image, %.0f%% of it the JIT"
                                + " compiler%n",
                        round,
                        rate,
                        cpu,
                        100 * warmed.jitShare());
                if (settling.settled(rate, cpu) && warmed.jitShare() < JIT_SETTLED) {
                    break;
                }
            }
            double liveMs = serverLiveP50(stub);
            // The ceiling again, now that the service and the broker are up (and idle): what
            // sharing the cores with them costs before any request is made.
            Result besideIdle = raw.run(batch, seconds);
            ServiceSide side = new ServiceSide(service);
            List<Row> rows = new ArrayList<>();
            rows.add(new Row("raw OrtSession.run, batch 1", rawOne, null));
            rows.add(new Row("raw OrtSession.run, batch " + batch + " (ceiling)", ceiling, null));
            rows.add(new Row(
                    "raw OrtSession.run, batch " + batch + ", beside the idle service and broker", besideIdle, null));
            if (torch != null) {
                rows.add(new Row("PyTorch eager, batch " + batch, torch, null));
            }
            // Each service row is followed by the ceiling again, and its share is read against the
            // ceilings measured just before and just after it: a noisy machine drifts between rows.
            Interleaved interleaved = new Interleaved(raw, batch, seconds, besideIdle, side);
            side.mark();
            Result grpcOne = grpc(stub, single, 1, 1, seconds);
            rows.add(interleaved.after(new Row("gRPC ModelInfer, batch 1, concurrency 1", grpcOne, side.since())));
            rows.add(interleaved.after(new Row(
                    "gRPC ModelInfer, batch " + batch + ", concurrency 1",
                    grpc(stub, request, 1, batch, seconds),
                    side.since())));
            rows.add(interleaved.after(new Row(
                    "gRPC ModelInfer, batch " + batch + ", concurrency 8",
                    grpc(stub, request, 8, batch, seconds),
                    side.since())));
            if (uint8) {
                ModelInferRequest pixels = request(model, inputName, rowShape, batch, rowElements, true);
                grpc(stub, pixels, 8, batch, 1);
                side.mark();
                rows.add(interleaved.after(new Row(
                        "gRPC ModelInfer, UINT8 pixels, batch " + batch + ", concurrency 8",
                        grpc(stub, pixels, 8, batch, seconds),
                        side.since())));
            }
            boolean kafkaUint8 = uint8 && !"true".equals(options.get("kafka-fp32"));
            Result kafka = kafka(
                    broker,
                    config,
                    inputName,
                    rowShape,
                    rowElements,
                    kafkaUint8,
                    kafkaImages,
                    options.integer("kafka-warmup", Math.max(30000, 10 * options.integer("kafka-images", 2000))),
                    side);
            rows.add(interleaved.after(new Row(
                    "Kafka end to end, " + kafkaImages + " single-image " + (kafkaUint8 ? "UINT8" : "FP32")
                            + " records",
                    kafka,
                    side.since())));
            channel.shutdownNow();

            System.out.println();
            System.out.println("| path | images/s | p50 ms | p99 ms | share of ceiling | service: batches, mean"
                    + " batch, queue wait, compute per batch | CPU per image: service (its JIT compiler) / broker +"
                    + " client |");
            System.out.println("|---|---:|---:|---:|---:|---|---|");
            rows.forEach(r -> print(r, ceiling));
            System.out.printf(
                    Locale.ROOT,
                    "%nLatency: raw batch 1 p50 %.2f ms; gRPC batch 1 at concurrency 1 p50 %.2f ms (%.2f ms added);"
                            + " gRPC ServerLive round trip p50 %.2f ms.%n",
                    rawOne.p50Ms(),
                    grpcOne.p50Ms(),
                    grpcOne.p50Ms() - rawOne.p50Ms(),
                    liveMs);
            printLoopTimes(rows.get(rows.size() - 1).side());
            System.out.printf(
                    Locale.ROOT,
                    "Against the raw run beside the idle service and broker (%.0f images/s):%n",
                    besideIdle.imagesPerSecond());
            for (Row r : rows) {
                if (r.side() != null) {
                    System.out.printf(
                            Locale.ROOT,
                            "  %s: %.0f%%%n",
                            r.name(),
                            100 * r.result().imagesPerSecond() / besideIdle.imagesPerSecond());
                }
            }
            interleaved.print();
        } finally {
            if (service != null) {
                service.destroy();
                service.waitFor();
            }
            broker.close();
        }
        System.exit(0);
    }

    record Result(double imagesPerSecond, double p50Ms, double p99Ms, long images) {
        Result(double imagesPerSecond, double p50Ms, double p99Ms) {
            this(imagesPerSecond, p50Ms, p99Ms, 0);
        }
    }

    /** One line of the table; {@code side} is empty for rows measured without the service. */
    record Row(String name, Result result, Side side) {}

    /** What the service did during one row, from the difference of its metrics before and after. */
    record Side(
            double batches,
            double rows,
            double queueMs,
            double computeMs,
            double serviceCpuMs,
            double ownCpuMs,
            double transactions,
            double records,
            double handleMs,
            double commitMs,
            double jitMs) {
        /** The JIT compiler's part of the service's CPU time. */
        double jitShare() {
            return jitMs / Math.max(1, serviceCpuMs);
        }
    }

    /**
     * Reads the service's batcher metrics and the CPU time of the service process and of this JVM
     * (the broker and the benchmark's clients), so each row can show what it cost on each side.
     */
    /** A warm-up round after which the service's JIT compiler took less of its CPU counts as warm. */
    static final double JIT_SETTLED = 0.05;

    static final class ServiceSide {
        private final Process service;
        private double[] last;

        ServiceSide(Process service) {
            this.service = service;
        }

        void mark() throws Exception {
            last = sample();
        }

        Side since() throws Exception {
            double[] now = sample();
            double[] d = new double[now.length];
            for (int i = 0; i < now.length; i++) {
                d[i] = now[i] - last[i];
            }
            last = now;
            return new Side(
                    d[3],
                    d[4],
                    1000 * d[0] / Math.max(1, d[1]),
                    1000 * d[2] / Math.max(1, d[3]),
                    d[5],
                    d[6],
                    d[7],
                    d[8],
                    d[9],
                    d[10],
                    d[11]);
        }

        private double[] sample() throws Exception {
            String metrics = ServiceProcess.get(18012, "/q/metrics");
            double serviceCpu = CompilerCpu.processMs(service.pid());
            double ownCpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                            .getProcessCpuTime()
                    / 1e6;
            return new double[] {
                ServiceProcess.metricSum(metrics, "vision_inference_queue_duration_seconds_sum"),
                ServiceProcess.metricSum(metrics, "vision_inference_queue_duration_seconds_count"),
                ServiceProcess.metricSum(metrics, "vision_inference_compute_duration_seconds_sum"),
                ServiceProcess.metricSum(metrics, "vision_inference_exec_count_total"),
                ServiceProcess.metricSum(metrics, "vision_inference_count_total"),
                serviceCpu,
                ownCpu,
                ServiceProcess.readinessValue(18012, "kafka-transactions"),
                ServiceProcess.readinessValue(18012, "kafka-records-in"),
                ServiceProcess.readinessValue(18012, "kafka-handle-ms"),
                ServiceProcess.readinessValue(18012, "kafka-commit-ms"),
                CompilerCpu.ms(service.pid())
            };
        }
    }

    static void print(Row row, Result ceiling) {
        Result r = row.result();
        Side s = row.side();
        String side = s == null
                ? "–"
                : String.format(
                        Locale.ROOT,
                        "%.0f, %.1f, %.2f ms, %.2f ms",
                        s.batches(),
                        s.rows() / Math.max(1, s.batches()),
                        s.queueMs(),
                        s.computeMs());
        String cpu = s == null || s.rows() == 0
                ? "–"
                : String.format(
                        Locale.ROOT,
                        "%.2f (%.2f) / %.2f ms",
                        s.serviceCpuMs() / s.rows(),
                        s.jitMs() / s.rows(),
                        s.ownCpuMs() / s.rows());
        System.out.printf(
                Locale.ROOT,
                "| %s | %.0f | %s | %s | %.0f%% | %s | %s |%n",
                row.name(),
                r.imagesPerSecond(),
                Double.isNaN(r.p50Ms()) ? "–" : String.format(Locale.ROOT, "%.2f", r.p50Ms()),
                Double.isNaN(r.p99Ms()) ? "–" : String.format(Locale.ROOT, "%.2f", r.p99Ms()),
                100 * r.imagesPerSecond() / ceiling.imagesPerSecond(),
                side,
                cpu);
    }

    /**
     * PyTorch eager on the same architecture ({@code bench/torch_eager.py} with Debian's Python),
     * for zoo models and the project's own networks; null when PyTorch is not installed.
     */
    static Result torchEager(
            BenchmarkOptions options, String model, int batch, double seconds, Pinning pin, int threads) {
        if ("false".equals(options.get("torch"))) {
            return null;
        }
        Path script = Path.of(options.get("bench-dir", "bench")).resolve("torch_eager.py");
        try {
            List<String> command = new ArrayList<>(pin.prefix());
            command.addAll(List.of(
                    options.get("python", "/usr/bin/python3"),
                    script.toString(),
                    "--model",
                    model,
                    "--batch",
                    Integer.toString(batch),
                    "--seconds",
                    Double.toString(seconds)));
            if (threads > 0) {
                command.addAll(List.of("--threads", Integer.toString(threads)));
            }
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                System.out.println("PyTorch eager row skipped: "
                        + out.strip().lines().reduce((a, b) -> b).orElse(""));
                return null;
            }
            String json = out.strip().lines().reduce((a, b) -> b).orElseThrow();
            return new Result(number(json, "images_per_second"), number(json, "p50_ms"), number(json, "p99_ms"));
        } catch (Exception e) {
            System.out.println("PyTorch eager row skipped: " + e.getMessage());
            return null;
        }
    }

    private static double number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":\\s*([0-9.eE+-]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + key + " in " + json);
        }
        return Double.parseDouble(m.group(1));
    }

    /** Median round trip of ServerLive, which does no work: the transport's own latency. */
    static double serverLiveP50(GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub) {
        List<Double> times = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            long t = System.nanoTime();
            stub.serverLive(ServerLiveRequest.getDefaultInstance());
            times.add((System.nanoTime() - t) / 1e6);
        }
        return percentile(times.subList(1000, times.size()), 50);
    }

    /** Where the Kafka loop's time went: records per transaction, the service's work, the commit. */
    static void printLoopTimes(Side s) {
        double transactions = Math.max(1, s.transactions());
        System.out.printf(
                Locale.ROOT,
                "Kafka loop: %.0f transactions, %.1f records each, %.2f ms scoring"
                        + " and %.2f ms producing + committing per transaction.%n",
                s.transactions(),
                s.records() / transactions,
                s.handleMs() / transactions,
                s.commitMs() / transactions);
    }

    /**
     * The ceiling measured again after each service row, so each row's share is read against the
     * mean of the ceilings just before and just after it (the machine's speed drifts between rows).
     */
    static final class Interleaved {
        private final Ceiling raw;
        private final int batch;
        private final double seconds;
        private final ServiceSide side;
        private final List<String> lines = new ArrayList<>();
        private Result before;

        Interleaved(Ceiling raw, int batch, double seconds, Result first, ServiceSide side) {
            this.raw = raw;
            this.batch = batch;
            this.seconds = seconds;
            this.before = first;
            this.side = side;
        }

        Row after(Row row) throws Exception {
            Result next = raw.run(batch, seconds);
            double around = (before.imagesPerSecond() + next.imagesPerSecond()) / 2;
            lines.add(String.format(
                    Locale.ROOT,
                    "  %s: %.0f%% (ceiling %.1f before, %.1f after)",
                    row.name(),
                    100 * row.result().imagesPerSecond() / around,
                    before.imagesPerSecond(),
                    next.imagesPerSecond()));
            before = next;
            side.mark();
            return row;
        }

        void print() {
            System.out.println("Against the ceiling measured just before and just after each row (their mean):");
            lines.forEach(System.out::println);
        }
    }

    /** One raw {@code OrtSession.run} measurement: in this JVM, or pinned in a child JVM. */
    @FunctionalInterface
    interface Ceiling {
        Result run(int batch, double seconds) throws Exception;
    }

    /**
     * {@code --pin CPUS}: the service, the ceiling and the PyTorch reference run under {@code taskset -c
     * CPUS}; off without the option (or where {@code taskset} is missing, which {@code bench/scoring.sh}
     * checks).
     */
    record Pinning(String cpus) {
        static Pinning of(BenchmarkOptions options) {
            return new Pinning(options.has("pin") ? options.get("pin") : null);
        }

        boolean on() {
            return cpus != null;
        }

        List<String> prefix() {
            return on() ? List.of("taskset", "-c", cpus) : List.of();
        }

        /** How many cores the list names ({@code 1}, {@code 2-3}, {@code 1,3}). */
        int cores() {
            int n = 0;
            for (String part : cpus.split(",")) {
                String[] range = part.trim().split("-");
                n += range.length == 1 ? 1 : Integer.parseInt(range[1]) - Integer.parseInt(range[0]) + 1;
            }
            return n;
        }

        /** Raw {@code OrtSession.run} in a child JVM on the pinned cores, this class's ceiling-only mode. */
        Result ceiling(BenchmarkOptions options, String model, Path repo, int batch, double seconds, int intraOp)
                throws Exception {
            List<String> command = new ArrayList<>(prefix());
            command.addAll(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp",
                    classPath(),
                    ScoringBenchmark.class.getName(),
                    "--models-dir",
                    repo.toString(),
                    "--model",
                    model,
                    "--batch",
                    Integer.toString(batch),
                    "--seconds",
                    Double.toString(seconds),
                    "--intra-op-threads",
                    Integer.toString(intraOp),
                    "--ceiling-only",
                    "true"));
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            Matcher m = Pattern.compile("ceiling images_per_second=(\\S+) p50_ms=(\\S+) p99_ms=(\\S+)")
                    .matcher(out);
            if (p.waitFor() != 0 || !m.find()) {
                throw new IllegalStateException("pinned ceiling failed:\n" + out);
            }
            return new Result(
                    Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)));
        }

        /** This JVM's class path: exec:java's class loader lists it, a plain java -cp names it. */
        private static String classPath() {
            if (ScoringBenchmark.class.getClassLoader() instanceof java.net.URLClassLoader loader) {
                List<String> entries = new ArrayList<>();
                for (java.net.URL url : loader.getURLs()) {
                    try {
                        entries.add(Path.of(url.toURI()).toString());
                    } catch (java.net.URISyntaxException e) {
                        throw new IllegalStateException(e);
                    }
                }
                return String.join(java.io.File.pathSeparator, entries);
            }
            return System.getProperty("java.class.path");
        }
    }

    static Result rawOrt(
            OrtEnvironment env, Path onnx, String input, long[] rowShape, int batch, double seconds, int intraOp)
            throws Exception {
        long[] shape = rowShape.clone();
        shape[0] = batch;
        long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        ByteBuffer buffer = Tensors.direct((int) n * 4);
        Random random = new Random(1);
        for (long i = 0; i < n; i++) {
            buffer.putFloat((float) random.nextGaussian());
        }
        buffer.flip();
        List<Double> latencies = new ArrayList<>();
        OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions();
        if (intraOp > 0) {
            sessionOptions.setIntraOpNumThreads(intraOp);
        }
        try (sessionOptions;
                OrtSession session = env.createSession(onnx.toString(), sessionOptions);
                OnnxTensor tensor = Tensors.create(env, "FP32", shape, buffer)) {
            for (int i = 0; i < 3; i++) {
                session.run(Map.of(input, tensor)).close();
            }
            long end = System.nanoTime() + (long) (seconds * 1e9);
            long start = System.nanoTime();
            int runs = 0;
            while (System.nanoTime() < end) {
                long t = System.nanoTime();
                session.run(Map.of(input, tensor)).close();
                latencies.add((System.nanoTime() - t) / 1e6);
                runs++;
            }
            return new Result(
                    runs * (double) batch / ((System.nanoTime() - start) / 1e9),
                    percentile(latencies, 50),
                    percentile(latencies, 99));
        }
    }

    /** Random FP32 values, or with {@code uint8} random pixels, for {@code rows} rows. */
    static ModelInferRequest request(
            String model, String input, long[] rowShape, int rows, long rowElements, boolean uint8) {
        Random random = new Random(2);
        ByteBuffer data = ByteBuffer.allocate((int) (rowElements * rows * (uint8 ? 1 : 4)))
                .order(ByteOrder.LITTLE_ENDIAN);
        if (uint8) {
            random.nextBytes(data.array());
        } else {
            for (long i = 0; i < rowElements * rows; i++) {
                data.putFloat((float) random.nextGaussian());
            }
        }
        long[] shape = rowShape.clone();
        shape[0] = rows;
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(model);
        request.addInputsBuilder()
                .setName(input)
                .setDatatype(uint8 ? "UINT8" : "FP32")
                .addAllShape(Arrays.stream(shape).boxed().toList());
        return request.addRawInputContents(ByteString.copyFrom(data.array())).build();
    }

    static void waitReady(GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub, Process service, Path log)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!service.isAlive()) {
                throw new IllegalStateException("scoring service exited; see " + log);
            }
            try {
                if (stub.withDeadlineAfter(2, TimeUnit.SECONDS)
                        .serverReady(ServerReadyRequest.getDefaultInstance())
                        .getReady()) {
                    return;
                }
            } catch (RuntimeException e) {
                // not up yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("scoring service not ready in 120 s; see " + log);
    }

    static Result grpc(
            GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub,
            ModelInferRequest request,
            int concurrency,
            int batch,
            double seconds)
            throws Exception {
        for (int i = 0; i < 3; i++) {
            stub.modelInfer(request);
        }
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        List<Future<Integer>> workers = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            workers.add(pool.submit(() -> {
                int done = 0;
                while (System.nanoTime() < end) {
                    long t = System.nanoTime();
                    stub.modelInfer(request);
                    latencies.add((System.nanoTime() - t) / 1e6);
                    done++;
                }
                return done;
            }));
        }
        int total = 0;
        for (Future<Integer> w : workers) {
            total += w.get();
        }
        pool.shutdown();
        double elapsed = (System.nanoTime() - start) / 1e9;
        return new Result(
                total * (double) batch / elapsed,
                percentile(latencies, 50),
                percentile(latencies, 99),
                (long) total * batch);
    }

    static Result kafka(
            TestBroker broker,
            ModelConfig config,
            String input,
            long[] rowShape,
            long rowElements,
            boolean uint8,
            int images,
            int warmup,
            ServiceSide side)
            throws Exception {
        Topics topics = new Topics(".bench");
        String model = config.name();
        ModelInferRequest one = request(model, input, rowShape, 1, rowElements, uint8);
        // One output per input: the scores of a classifier or a detector, else the features of an
        // encoder.
        boolean scored = config.output("logits") != null
                || config.output("probabilities") != null
                || config.output("detections") != null;
        String outputs = scored ? topics.scores().name() : topics.features().name();
        try (TopicCollector scores = broker.collect(outputs);
                KafkaProducer<byte[], byte[]> producer = broker.producer()) {
            // Warm-up: the broker's and the service's Kafka code paths get compiled before timing,
            // in rounds until two in a row agree within 5% on images/s and on the service's CPU time
            // per image and the JIT compiler took under 5% of it, or --kafka-warmup records are sent.
            int warm = 0;
            // Rounds as large as the timed row: a smaller one leaves the loop's larger polls and
            // batches to be compiled during the row (10,000 records after rounds of 4,000: the JIT
            // compiler took 16 % of the service's CPU in the row, 3 % in the last rounds).
            int chunk = Math.max(500, images);
            Settling settling = new Settling();
            for (int round = 1; warm < warmup; round++) {
                int n = Math.min(chunk, warmup - warm);
                side.mark();
                long t = System.nanoTime();
                send(producer, topics.tensors(model).name(), one, "w" + round + "-", n);
                warm += n;
                if (scores.awaitAtLeast(warm, Duration.ofSeconds(600)) < warm) {
                    throw new IllegalStateException("the warm-up records were not all scored");
                }
                double rate = n / ((System.nanoTime() - t) / 1e9);
                Side warming = side.since();
                double cpu = warming.serviceCpuMs() / n;
                System.out.printf(
                        Locale.ROOT,
                        "Kafka warm-up round %d: %.0f images/s, service CPU %.3f ms per image, %.0f%% of it the JIT"
                                + " compiler%n",
                        round,
                        rate,
                        cpu,
                        100 * warming.jitShare());
                if (settling.settled(rate, cpu) && warming.jitShare() < JIT_SETTLED) {
                    break;
                }
            }
            side.mark();
            long start = System.nanoTime();
            send(producer, topics.tensors(model).name(), one, "b-", images);
            int got = scores.awaitAtLeast(warm + images, Duration.ofSeconds(600)) - warm;
            double elapsed = (System.nanoTime() - start) / 1e9;
            if (got < images) {
                throw new IllegalStateException("only " + got + " of " + images + " scores arrived");
            }
            return new Result(images / elapsed, Double.NaN, Double.NaN);
        }
    }

    private static void send(
            KafkaProducer<byte[], byte[]> producer, String topic, ModelInferRequest one, String prefix, int count) {
        for (int i = 0; i < count; i++) {
            String id = prefix + i;
            producer.send(new ProducerRecord<>(
                    topic,
                    id.getBytes(StandardCharsets.UTF_8),
                    one.toBuilder().setId(id).build().toByteArray()));
        }
        producer.flush();
    }

    static double percentile(List<Double> values, int p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }
}
