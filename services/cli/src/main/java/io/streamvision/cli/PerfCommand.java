package io.streamvision.cli;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.InferStatistics;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.inference.ModelMetadataRequest;
import io.streamvision.proto.inference.ModelMetadataResponse;
import io.streamvision.proto.inference.ModelStatistics;
import io.streamvision.proto.inference.ModelStatisticsRequest;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vision perf}: a perf analyzer for every path the scoring service offers, after Triton's
 * {@code perf_analyzer}: gRPC and REST at a sweep of concurrencies (closed loop) or request rates
 * (open loop), and Kafka (tensor records produced at a rate, or as fast as they go, each timed from
 * its send to its output read {@code read_committed}). Input shapes come from the model's
 * metadata; data are random, zeros or a file's bytes. Each step prints throughput, p50/p90/p95/p99
 * latency and the server's split of the time (queue, compute input/infer/output per request, from
 * the {@code ModelStatistics} extension before and after the step), and {@code -f} writes the steps
 * as CSV with perf_analyzer's column names.
 */
@Command(
        name = "perf",
        mixinStandardHelpOptions = true,
        description = "Measure throughput and latency of a model over gRPC, REST or Kafka (as perf_analyzer).")
public class PerfCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    GrpcClientOptions grpcOptions;

    @Mixin
    ScoringModelOptions target;

    @Option(
            names = {"-i", "--protocol"},
            defaultValue = "grpc")
    String protocol;

    @Option(names = "--http", defaultValue = "${VISION_SCORING_HTTP:-http://localhost:8082}")
    String http;

    @Option(names = "--batch-size", defaultValue = "1")
    int batch;

    @Option(names = "--concurrency-range", defaultValue = "1:1:1", paramLabel = "START:END:STEP")
    String concurrencyRange;

    @Option(names = "--request-rate-range", paramLabel = "START:END:STEP")
    String rateRange;

    @Option(
            names = {"-p", "--measurement-interval-ms"},
            defaultValue = "5000")
    long intervalMs;

    @Option(names = "--warmup-ms", defaultValue = "2000")
    long warmupMs;

    @Option(names = "--kafka-requests", defaultValue = "2000")
    int kafkaRequests;

    @Option(names = "--input-data", defaultValue = "random")
    String inputData;

    @Option(
            names = {"-f", "--latency-report-file"},
            paramLabel = "CSV")
    Path csv;

    /** One measured step. */
    record Step(
            String level,
            double throughput,
            double p50Us,
            double p90Us,
            double p95Us,
            double p99Us,
            long errors,
            double[] serverUs) {}

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new CliException(ExitCodes.USAGE, "--batch-size must be at least 1");
        }
        ManagedChannel channel = grpcOptions.channel(target.server, 64 * 1024 * 1024);
        try {
            GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub blocking =
                    GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            ModelMetadataResponse meta;
            try {
                meta = blocking.modelMetadata(ModelMetadataRequest.newBuilder()
                        .setName(target.model)
                        .setVersion(target.version)
                        .build());
            } catch (io.grpc.StatusRuntimeException e) {
                throw new CliException(
                        e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
                                ? ExitCodes.UNREACHABLE
                                : ExitCodes.SOME_FAILED,
                        "model metadata from " + target.server + ": " + e.getStatus());
            }
            ModelInferRequest request = request(meta);
            boolean rate = rateRange != null;
            int[] levels = range(rate ? rateRange : concurrencyRange);
            out().printf(
                            Locale.ROOT,
                            "%s over %s, batch %d, %s %s%n",
                            target.model,
                            protocol,
                            batch,
                            rate ? "request rates" : "concurrencies",
                            java.util.Arrays.toString(levels));
            Runner runner = switch (protocol.toLowerCase(Locale.ROOT)) {
                case "grpc" -> new GrpcRunner(channel, request);
                case "rest", "http" -> new RestRunner(request);
                case "kafka" -> new KafkaRunner(request);
                default ->
                    throw new CliException(ExitCodes.USAGE, "--protocol is grpc, rest or kafka, not " + protocol);
            };
            try {
                runner.run(rate, levels[0], warmupMs, true);
                List<Step> steps = new ArrayList<>();
                out().println("| " + (rate ? "request rate" : "concurrency")
                        + " | infer/s | p50 ms | p90 ms | p95 ms | p99 ms | errors | server queue ms"
                        + " | compute input ms | compute infer ms | compute output ms |");
                out().println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
                for (int level : levels) {
                    ModelStatistics before = statistics(blocking);
                    Step step = runner.run(rate, level, intervalMs, false);
                    ModelStatistics after = statistics(blocking);
                    step = new Step(
                            step.level(),
                            step.throughput(),
                            step.p50Us(),
                            step.p90Us(),
                            step.p95Us(),
                            step.p99Us(),
                            step.errors(),
                            split(before, after));
                    steps.add(step);
                    print(step);
                }
                if (csv != null) {
                    writeCsv(steps, rate);
                }
                return steps.stream().anyMatch(s -> s.errors() > 0) ? ExitCodes.SOME_FAILED : ExitCodes.OK;
            } finally {
                runner.close();
            }
        } finally {
            channel.shutdownNow();
        }
    }

    private ModelStatistics statistics(GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub) {
        try {
            return stub.modelStatistics(ModelStatisticsRequest.newBuilder()
                            .setName(target.model)
                            .setVersion(target.version)
                            .build())
                    .getModelStats(0);
        } catch (RuntimeException e) {
            return null; // a server without the statistics extension: no split
        }
    }

    /** Queue and compute input/infer/output per request in the step, in µs; null without statistics. */
    static double[] split(ModelStatistics before, ModelStatistics after) {
        if (before == null || after == null) {
            return null;
        }
        InferStatistics b = before.getInferenceStats();
        InferStatistics a = after.getInferenceStats();
        long requests = a.getSuccess().getCount() - b.getSuccess().getCount();
        if (requests <= 0) {
            return null;
        }
        return new double[] {
            (a.getQueue().getNs() - b.getQueue().getNs()) / 1e3 / requests,
            (a.getComputeInput().getNs() - b.getComputeInput().getNs()) / 1e3 / requests,
            (a.getComputeInfer().getNs() - b.getComputeInfer().getNs()) / 1e3 / requests,
            (a.getComputeOutput().getNs() - b.getComputeOutput().getNs()) / 1e3 / requests
        };
    }

    private void print(Step s) {
        double[] split = s.serverUs();
        out().printf(
                        Locale.ROOT,
                        "| %s | %.1f | %.2f | %.2f | %.2f | %.2f | %d | %s | %s | %s | %s |%n",
                        s.level(),
                        s.throughput(),
                        s.p50Us() / 1e3,
                        s.p90Us() / 1e3,
                        s.p95Us() / 1e3,
                        s.p99Us() / 1e3,
                        s.errors(),
                        split == null ? "–" : String.format(Locale.ROOT, "%.3f", split[0] / 1e3),
                        split == null ? "–" : String.format(Locale.ROOT, "%.3f", split[1] / 1e3),
                        split == null ? "–" : String.format(Locale.ROOT, "%.3f", split[2] / 1e3),
                        split == null ? "–" : String.format(Locale.ROOT, "%.3f", split[3] / 1e3));
        out().flush();
    }

    /** perf_analyzer's CSV columns, latencies in µs. */
    private void writeCsv(List<Step> steps, boolean rate) throws Exception {
        StringBuilder b = new StringBuilder(rate ? "Request Rate" : "Concurrency")
                .append(",Inferences/Second,Server Queue,Server Compute Input,Server Compute Infer,"
                        + "Server Compute Output,p50 latency,p90 latency,p95 latency,p99 latency\n");
        for (Step s : steps) {
            double[] split = s.serverUs() == null ? new double[4] : s.serverUs();
            b.append(String.format(
                    Locale.ROOT,
                    "%s,%.2f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f%n",
                    s.level(),
                    s.throughput(),
                    split[0],
                    split[1],
                    split[2],
                    split[3],
                    s.p50Us(),
                    s.p90Us(),
                    s.p95Us(),
                    s.p99Us()));
        }
        Files.writeString(csv, b);
        out().println("CSV: " + csv);
    }

    /** {@code START:END:STEP}, {@code START:END} or {@code N}. */
    static int[] range(String spec) {
        String[] p = spec.split(":");
        try {
            int start = Integer.parseInt(p[0]);
            int end = p.length > 1 ? Integer.parseInt(p[1]) : start;
            int step = p.length > 2 ? Integer.parseInt(p[2]) : 1;
            if (start < 0 || end < start || step < 1) {
                throw new NumberFormatException();
            }
            List<Integer> out = new ArrayList<>();
            for (int v = start; v <= end; v += step) {
                out.add(v);
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        } catch (NumberFormatException e) {
            throw new CliException(ExitCodes.USAGE, "a range is START:END:STEP with 0 <= START <= END, not " + spec);
        }
    }

    /** One request of {@code batch} rows of every input, shapes from the metadata. */
    private ModelInferRequest request(ModelMetadataResponse meta) throws Exception {
        ModelInferRequest.Builder b =
                ModelInferRequest.newBuilder().setModelName(target.model).setModelVersion(target.version);
        Random random = new Random(1);
        for (ModelMetadataResponse.TensorMetadata t : meta.getInputsList()) {
            List<Long> shape = new ArrayList<>(t.getShapeList());
            if (!shape.isEmpty() && shape.get(0) == -1) {
                shape.set(0, (long) batch);
            }
            long elements = 1;
            for (long d : shape) {
                if (d < 0) {
                    throw new CliException(
                            ExitCodes.USAGE,
                            "input " + t.getName() + " has a variable dimension besides the batch: " + shape);
                }
                elements *= d;
            }
            int width = switch (t.getDatatype()) {
                case "UINT8", "INT8", "BOOL" -> 1;
                case "FP16", "INT16", "UINT16" -> 2;
                case "FP64", "INT64", "UINT64" -> 8;
                default -> 4;
            };
            ByteBuffer data = ByteBuffer.allocate((int) (elements * width)).order(ByteOrder.LITTLE_ENDIAN);
            if (inputData.equals("random")) {
                if (t.getDatatype().equals("FP32")) {
                    while (data.hasRemaining()) {
                        data.putFloat((float) random.nextGaussian());
                    }
                } else {
                    random.nextBytes(data.array());
                }
            } else if (!inputData.equals("zero")) {
                byte[] file = Files.readAllBytes(Path.of(inputData));
                if (file.length != data.capacity()) {
                    throw new CliException(
                            ExitCodes.BAD_INPUT,
                            inputData + " holds " + file.length + " bytes; input " + t.getName() + " of shape " + shape
                                    + " needs " + data.capacity());
                }
                data.put(file);
            }
            b.addInputs(ModelInferRequest.InferInputTensor.newBuilder()
                    .setName(t.getName())
                    .setDatatype(t.getDatatype())
                    .addAllShape(shape));
            b.addRawInputContents(ByteString.copyFrom(data.array()));
        }
        return b.build();
    }

    /** One way of sending requests. */
    interface Runner extends AutoCloseable {
        /**
         * Runs at {@code level} (outstanding requests, or requests per second) for {@code ms}; a
         * {@code warmup} run is not reported (Kafka sends a tenth of its records then).
         */
        Step run(boolean rate, int level, long ms, boolean warmup) throws Exception;

        @Override
        default void close() {}
    }

    /** Latencies and errors of one step, and its throughput in inferences (rows) per second. */
    private Step step(int level, List<Long> latenciesNs, long errors, double seconds) {
        List<Long> sorted = new ArrayList<>(latenciesNs);
        Collections.sort(sorted);
        return new Step(
                Integer.toString(level),
                sorted.size() * (double) batch / seconds,
                percentile(sorted, 50) / 1e3,
                percentile(sorted, 90) / 1e3,
                percentile(sorted, 95) / 1e3,
                percentile(sorted, 99) / 1e3,
                errors,
                null);
    }

    static double percentile(List<Long> sorted, int p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }

    /**
     * Sends through {@code send} at {@code level} outstanding requests (closed loop) or {@code
     * level} requests per second (open loop) for {@code ms}; each send calls back with its success.
     */
    private Step drive(boolean rate, int level, long ms, java.util.function.BiConsumer<Long, Done> send)
            throws Exception {
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger errors = new AtomicInteger();
        Semaphore slots = new Semaphore(rate ? Integer.MAX_VALUE : Math.max(1, level));
        AtomicInteger inFlight = new AtomicInteger();
        long start = System.nanoTime();
        long end = start + ms * 1_000_000;
        long sent = 0;
        while (System.nanoTime() < end) {
            if (rate) {
                long due = start + (long) (sent * 1e9 / Math.max(1, level));
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
            } else if (!slots.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                continue;
            }
            long t = System.nanoTime();
            inFlight.incrementAndGet();
            sent++;
            send.accept(t, ok -> {
                if (ok) {
                    latencies.add(System.nanoTime() - t);
                } else {
                    errors.incrementAndGet();
                }
                inFlight.decrementAndGet();
                slots.release();
            });
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long drainUntil = System.nanoTime() + 30_000_000_000L;
        while (inFlight.get() > 0 && System.nanoTime() < drainUntil) {
            Thread.sleep(1);
        }
        return step(level, latencies, errors.get(), seconds);
    }

    @FunctionalInterface
    interface Done {
        void done(boolean ok);
    }

    /** ModelInfer on the async stub. */
    final class GrpcRunner implements Runner {
        private final GRPCInferenceServiceGrpc.GRPCInferenceServiceStub stub;
        private final ModelInferRequest request;

        GrpcRunner(ManagedChannel channel, ModelInferRequest request) {
            this.stub = GRPCInferenceServiceGrpc.newStub(channel);
            this.request = request;
        }

        @Override
        public Step run(boolean rate, int level, long ms, boolean warmup) throws Exception {
            return drive(
                    rate,
                    level,
                    ms,
                    (t, done) -> stub.withDeadlineAfter(60, TimeUnit.SECONDS)
                            .modelInfer(request, new StreamObserver<>() {
                                @Override
                                public void onNext(ModelInferResponse value) {}

                                @Override
                                public void onError(Throwable e) {
                                    done.done(false);
                                }

                                @Override
                                public void onCompleted() {
                                    done.done(true);
                                }
                            }));
        }
    }

    /** {@code POST /v2/models/{m}/infer} with Triton's binary tensor data extension. */
    final class RestRunner implements Runner {
        private final HttpClient client =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        private final HttpRequest request;

        RestRunner(ModelInferRequest infer) {
            StringBuilder header = new StringBuilder("{\"inputs\":[");
            ByteString body = ByteString.EMPTY;
            for (int i = 0; i < infer.getInputsCount(); i++) {
                ModelInferRequest.InferInputTensor t = infer.getInputs(i);
                ByteString raw = infer.getRawInputContents(i);
                header.append(i == 0 ? "" : ",")
                        .append("{\"name\":\"")
                        .append(t.getName())
                        .append("\",\"datatype\":\"")
                        .append(t.getDatatype())
                        .append("\",\"shape\":")
                        .append(t.getShapeList())
                        .append(",\"parameters\":{\"binary_data_size\":")
                        .append(raw.size())
                        .append("}}");
                body = body.concat(raw);
            }
            header.append("]}");
            byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
            String version = target.version.isEmpty() ? "" : "/versions/" + target.version;
            this.request = HttpRequest.newBuilder(
                            URI.create(http.replaceAll("/+$", "") + "/v2/models/" + target.model + version + "/infer"))
                    .header("Content-Type", "application/octet-stream")
                    .header("Inference-Header-Content-Length", Integer.toString(json.length))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(
                            ByteString.copyFrom(json).concat(body).toByteArray()))
                    .build();
        }

        @Override
        public Step run(boolean rate, int level, long ms, boolean warmup) throws Exception {
            return drive(
                    rate,
                    level,
                    ms,
                    (t, done) -> client.sendAsync(request, HttpResponse.BodyHandlers.discarding())
                            .whenComplete((r, e) -> done.done(e == null && r.statusCode() == 200)));
        }
    }

    /**
     * Tensor records to {@code vision.tensors.<model>.v1}, each timed from its send to its score,
     * features or dead letter read {@code read_committed}; {@code level} 0 sends as fast as the
     * producer goes. A step sends {@code --kafka-requests} records (the warm-up a tenth of them).
     */
    final class KafkaRunner implements Runner {
        private final ModelInferRequest request;
        private final KafkaProducer<byte[], byte[]> producer;
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final Topics topics;
        private final Map<String, Long> pending = new ConcurrentHashMap<>();
        private int round;

        KafkaRunner(ModelInferRequest request) {
            this.request = request;
            this.topics = kafka.topics();
            Properties p = kafka.client();
            p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
            p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * 1024 * 1024);
            producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
            Properties c = kafka.client();
            c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : List.of(
                    topics.scores().name(),
                    topics.features().name(),
                    topics.deadLetters().name())) {
                consumer.partitionsFor(topic, Duration.ofSeconds(30))
                        .forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);
        }

        @Override
        public Step run(boolean rate, int level, long ms, boolean warmup) {
            int count = warmup ? Math.max(1, kafkaRequests / 10) : kafkaRequests;
            String prefix = "perf-" + ProcessHandle.current().pid() + "-" + round++ + "-";
            String topic = topics.tensors(target.model).name();
            List<Long> latencies = new ArrayList<>();
            long errors = 0;
            long start = System.nanoTime();
            int sent = 0;
            int received = 0;
            long deadline = Long.MAX_VALUE;
            while (received < count && System.nanoTime() < deadline) {
                while (sent < count
                        && (!rate || level <= 0 || System.nanoTime() >= start + (long) (sent * 1e9 / level))) {
                    String id = prefix + sent;
                    pending.put(id, System.nanoTime());
                    producer.send(new ProducerRecord<>(
                            topic,
                            id.getBytes(StandardCharsets.UTF_8),
                            request.toBuilder().setId(id).build().toByteArray()));
                    sent++;
                    if (sent == count) {
                        producer.flush();
                        deadline = System.nanoTime() + 120_000_000_000L;
                    }
                    if (rate && level > 0) {
                        break;
                    }
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(rate ? 1 : 20))) {
                    String id = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
                    Long at = pending.remove(id);
                    if (at == null) {
                        continue;
                    }
                    received++;
                    if (r.topic().equals(topics.deadLetters().name())) {
                        errors++;
                    } else {
                        latencies.add(System.nanoTime() - at);
                    }
                }
            }
            errors += count - received;
            pending.clear();
            double seconds = (System.nanoTime() - start) / 1e9;
            return step(level, latencies, errors, seconds);
        }

        @Override
        public void close() {
            producer.close();
            consumer.close();
        }
    }
}
