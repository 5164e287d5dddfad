package io.streamvision.captioning;

import static io.streamvision.captioning.ClusterDeployment.Service.CAPTIONING;
import static io.streamvision.captioning.ClusterDeployment.Service.PREPROCESS;
import static io.streamvision.captioning.ClusterDeployment.Service.SCORING;

import com.sun.management.OperatingSystemMXBean;
import io.streamvision.captioning.decode.BeamSearchDecoder;
import io.streamvision.captioning.decode.Vocabulary;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.imaging.RgbImage;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.runtime.BatchBuffers;
import io.streamvision.runtime.Classifications;
import io.streamvision.runtime.ExecutionSettings;
import io.streamvision.runtime.InferenceEngine;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ModelLoader;
import io.streamvision.testing.BenchmarkOptions;
import io.streamvision.testing.CompilerCpu;
import io.streamvision.testing.ProcessCluster;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.Settling;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.lang.management.ManagementFactory;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The whole image pipeline twice in one run, on the same images: once as the project's own code in
 * a loop in this JVM with no Kafka (decode, resize and normalise as preprocess does, fashion-cnn
 * and the caption encoder through the scoring service's inference engine, the captioning
 * service's batched beam search: the pipeline's ceiling on this machine), once through the broker
 * and the three services (images in on {@code vision.images.v1}, joined labels and caption out on
 * {@code vision.results.v1}, read_committed, every image exactly once). Prints images/s of both,
 * their ratio, and the CPU time per image of every process.
 *
 * <pre>
 * bench/pipeline.sh [--images 2000] [--photos true] [--threads N] [--batch 8] [--broker process|in-jvm]
 *                   [--partitions 3] [--commit-interval-ms N] [--profile libasyncProfiler.so|jfr]
 * </pre>
 *
 * <p>{@code --photos true} adds the sample photographs (up to a few megapixels, so decoding weighs
 * more) to the sample items, round robin. Each side warms up until two rounds in a row agree
 * within 5% on images/s.
 */
public final class PipelineBenchmark {

    private static final String ENCODER = "caption-encoder";
    private static final String DECODER = "caption-decoder";

    private PipelineBenchmark() {}

    public static void main(String[] args) throws Exception {
        BenchmarkOptions options = BenchmarkOptions.parse(args);
        int images = options.integer("images", 2000);
        int cores = Runtime.getRuntime().availableProcessors();
        int threads = options.integer("threads", cores);
        int batch = options.integer("batch", 8);
        List<Path> files = files("true".equals(options.get("photos")));
        System.out.printf(
                "Pipeline: %d images (%d files round robin), %d cores; in-JVM loop on %d threads, batches of %d%n",
                images, files.size(), cores, threads, batch);

        double cpuBefore = processCpuMs();
        InJvm loop = new InJvm(files, batch);
        long self = ProcessHandle.current().pid();
        double inJvm;
        double inJvmCpu;
        double inJvmJit;
        double[] stages;
        try {
            warmUp("in-JVM", () -> loop.run(images, threads), List.of(self));
            loop.resetStages();
            double before = processCpuMs();
            double jitBefore = CompilerCpu.ms(self);
            double[] rates = new double[TIMED_RUNS];
            for (int r = 0; r < TIMED_RUNS; r++) {
                rates[r] = loop.run(images, threads);
            }
            inJvm = median(rates);
            inJvmCpu = (processCpuMs() - before) / (TIMED_RUNS * images);
            inJvmJit = (CompilerCpu.ms(self) - jitBefore) / (TIMED_RUNS * images);
            stages = loop.stagesPerImage(TIMED_RUNS * images);
            System.out.printf(Locale.ROOT, "in-JVM timed runs: %s images/s%n", Arrays.toString(rates));
        } finally {
            loop.close();
        }
        System.out.printf(Locale.ROOT, "(in-JVM set-up CPU %.0f ms)%n", processCpuMs() - cpuBefore);

        boolean brokerProcess = !"in-jvm".equals(options.get("broker", "process"));
        TestBroker broker = brokerProcess ? ProcessCluster.start(1) : TestBrokers.startNew();
        try (ClusterDeployment d = new ClusterDeployment(broker, "pipeline-bench")) {
            String models = ClusterDeployment.MODEL + "," + ENCODER;
            Map<String, String> common = new HashMap<>();
            // The services' own default unless asked: the cluster tests' deployment uses 6.
            common.put("vision.kafka.partitions", options.get("partitions", "3"));
            String commitInterval = options.get("commit-interval-ms", null);
            Map<String, String> streams = new HashMap<>(common);
            if (commitInterval != null) {
                streams.put("kafka-streams.commit.interval.ms", commitInterval);
            }
            System.out.printf(
                    "Kafka side: broker %s, %s partitions per topic, Kafka Streams commit interval %s%n",
                    brokerProcess ? "in its own JVM" : "in this JVM",
                    common.get("vision.kafka.partitions"),
                    commitInterval == null ? "the services' default" : commitInterval + " ms");
            d.start(SCORING, 1, with(common, "vision.scoring.models", models));
            d.start(PREPROCESS, 1, with(streams, "vision.preprocess.default-models", models));
            d.start(CAPTIONING, 1, streams);
            for (ClusterDeployment.Service s : ClusterDeployment.Service.values()) {
                d.awaitReady(d.instance(s, 1));
            }
            double kafka;
            double[] perImage;
            Map<String, double[]> batchesBefore;
            Map<String, double[]> batchesAfter;
            Map<String, Long> offsetsBefore;
            Map<String, Long> offsetsAfter;
            try (Feed feed = new Feed(broker, d.topics(), files)) {
                int[] round = {0};
                Map<String, Long> profiled = new LinkedHashMap<>();
                for (ClusterDeployment.Service s : ClusterDeployment.Service.values()) {
                    profiled.put(
                            s.name().toLowerCase(Locale.ROOT), d.instance(s, 1).pid());
                }
                if (broker instanceof ProcessCluster cluster) {
                    profiled.put("broker", cluster.pid(1));
                }
                List<Long> pids = new ArrayList<>(profiled.values());
                pids.add(self);
                // Rounds as large as a timed run: after rounds of 1,000 images the broker's compiler
                // came back to a tenth of its CPU in runs of 2,000.
                warmUp("Kafka", () -> feed.run("warm" + round[0]++ + "-", images), pids);
                Cpu cpu = new Cpu(pids);
                offsetsBefore = endOffsets(broker);
                int scoringPort = d.instance(SCORING, 1).healthPort();
                batchesBefore = batching(scoringPort, models.split(","));
                Profiler profiler = new Profiler(options.get("profile", null), profiled);
                profiler.start();
                double[] rates = new double[TIMED_RUNS];
                for (int r = 0; r < TIMED_RUNS; r++) {
                    rates[r] = feed.run("bench" + r + "-", images);
                }
                kafka = median(rates);
                perImage = cpu.since(TIMED_RUNS * images);
                offsetsAfter = endOffsets(broker);
                batchesAfter = batching(scoringPort, models.split(","));
                profiler.stop();
                System.out.printf(Locale.ROOT, "Kafka timed runs: %s images/s%n", Arrays.toString(rates));
                for (int r = 0; r < TIMED_RUNS; r++) {
                    feed.assertExactlyOnce("bench" + r + "-", images);
                }
            }

            System.out.println();
            System.out.println(
                    "| path | images/s | share of the in-JVM loop | CPU per image (of which the JIT compiler) |");
            System.out.println("|---|---:|---:|---|");
            System.out.printf(
                    Locale.ROOT,
                    "| in-JVM loop: decode, resize, fashion-cnn, caption encoder, beam search (%d threads)"
                            + " | %.1f | 100%% | %.2f ms (%.2f) |%n",
                    threads,
                    inJvm,
                    inJvmCpu,
                    inJvmJit);
            String[] names = brokerProcess
                    ? new String[] {"preprocess", "scoring", "captioning", "broker", "client"}
                    : new String[] {"preprocess", "scoring", "captioning", "broker + client"};
            StringBuilder parts = new StringBuilder();
            double total = 0;
            double totalJit = 0;
            for (int i = 0; i < names.length; i++) {
                parts.append(String.format(
                        Locale.ROOT, "%s %.2f ms (%.2f), ", names[i], perImage[i], perImage[names.length + i]));
                total += perImage[i];
                totalJit += perImage[names.length + i];
            }
            System.out.printf(
                    Locale.ROOT,
                    "| Kafka, three services, one broker, results joined | %.1f | %.0f%% | %stotal %.2f ms (%.2f) |%n",
                    kafka,
                    100 * kafka / inJvm,
                    parts,
                    total,
                    totalJit);
            System.out.println();
            System.out.printf(
                    Locale.ROOT,
                    "In-JVM loop, thread time per image: prepare %.2f ms, %s %.2f ms, %s %.2f ms, beam search %.2f"
                            + " ms (batches of %d)%n",
                    stages[0],
                    ClusterDeployment.MODEL,
                    stages[1],
                    ENCODER,
                    stages[2],
                    stages[3],
                    batch);
            printRecords(offsetsBefore, offsetsAfter, TIMED_RUNS * images);
            for (String model : batchesAfter.keySet()) {
                double[] a = batchesAfter.get(model);
                double[] b = batchesBefore.get(model);
                double runs = a[0] - b[0];
                double rows = a[1] - b[1];
                System.out.printf(
                        Locale.ROOT,
                        "Scoring, %s: %.0f batches, mean batch %.1f, %.2f ms per batch from start to end of its"
                                + " run (wall time, on cores shared with the other processes)%n",
                        model,
                        runs,
                        rows / Math.max(1, runs),
                        1000 * (a[2] - b[2]) / Math.max(1, runs));
            }
        } finally {
            broker.close();
        }
        System.exit(0);
    }

    /** The sample items, and with {@code photos} the sample photographs, sorted by name. */
    static List<Path> files(boolean photos) throws Exception {
        Path samples = TestModels.dir().getParent().resolve("samples");
        List<Path> out = new ArrayList<>(list(samples.resolve("items")));
        if (photos) {
            out.addAll(list(samples.resolve("photos")));
        }
        return out;
    }

    private static List<Path> list(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(
                            f -> f.toString().endsWith(".png") || f.toString().endsWith(".jpg"))
                    .sorted()
                    .toList();
        }
    }

    /** One warm-up round: images/s. */
    @FunctionalInterface
    interface Round {
        double run() throws Exception;
    }

    /**
     * Rounds until two in a row agree within 5% on images/s and in the last one the JIT compilers
     * took under {@value #JIT_SETTLED} of the CPU of all the processes together (services that look
     * steady after a few rounds still compile for minutes on two shared cores, and that CPU would
     * count as the pipeline's); at most {@value #WARM_UP_ROUNDS} rounds.
     *
     * @param pids the processes that must be warm: their compiler threads are read from /proc
     */
    static void warmUp(String name, Round round, List<Long> pids) throws Exception {
        Settling settling = new Settling();
        for (int i = 1; i <= WARM_UP_ROUNDS; i++) {
            double[] jitBefore = jit(pids);
            double[] cpuBefore = cpu(pids);
            double rate = round.run();
            double[] jitAfter = jit(pids);
            double[] cpuAfter = cpu(pids);
            double jitAll = 0;
            double cpuAll = 0;
            StringBuilder shares = new StringBuilder();
            for (int p = 0; p < pids.size(); p++) {
                double jitMs = jitAfter[p] - jitBefore[p];
                double cpuMs = cpuAfter[p] - cpuBefore[p];
                jitAll += jitMs;
                cpuAll += cpuMs;
                shares.append(String.format(Locale.ROOT, " %.0f%%", 100 * jitMs / Math.max(1, cpuMs)));
            }
            double share = jitAll / Math.max(1, cpuAll);
            System.out.printf(
                    Locale.ROOT,
                    "%s warm-up round %d: %.1f images/s, JIT compiler's share of CPU %.0f%% (each process:%s)%n",
                    name,
                    i,
                    rate,
                    100 * share,
                    shares);
            if (settling.settled(rate) && share < JIT_SETTLED) {
                return;
            }
        }
        System.out.printf("%s: still not steady after %d warm-up rounds, measuring anyway%n", name, WARM_UP_ROUNDS);
    }

    private static final double JIT_SETTLED = 0.05;
    /** Timed runs of each side after its warm-up; the median counts. */
    private static final int TIMED_RUNS = 3;

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static final int WARM_UP_ROUNDS = 40;

    private static double[] jit(List<Long> pids) {
        return pids.stream().mapToDouble(CompilerCpu::ms).toArray();
    }

    /** CPU time of each process so far, milliseconds. */
    private static double[] cpu(List<Long> pids) {
        double[] out = new double[pids.size()];
        for (int p = 0; p < pids.size(); p++) {
            out[p] = cpuMs(pids.get(p));
        }
        return out;
    }

    private static double cpuMs(long pid) {
        return pid == ProcessHandle.current().pid() ? processCpuMs() : CompilerCpu.processMs(pid);
    }

    /**
     * Images in and results out, nothing else read (the cluster tests' workload also reads every
     * tensor and score, which would count against the services here): images/s from the first send
     * to the last result, read_committed.
     */
    static final class Feed implements AutoCloseable {
        private final Topics topics;
        private final List<Path> files;
        private final KafkaProducer<byte[], byte[]> producer;
        private final TopicCollector results;

        Feed(TestBroker broker, Topics topics, List<Path> files) {
            this.topics = topics;
            this.files = files;
            this.producer = broker.producer();
            this.results = broker.collect(topics.results().name());
        }

        double run(String prefix, int images) throws Exception {
            int before = results.records().size();
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(images);
            for (int i = 0; i < images; i++) {
                records.add(PipelineRequests.image(topics, prefix + i, files.get(i % files.size())));
            }
            long start = System.currentTimeMillis();
            for (ProducerRecord<byte[], byte[]> r : records) {
                producer.send(r);
            }
            producer.flush();
            if (results.awaitAtLeast(before + images, Duration.ofSeconds(600)) < before + images) {
                throw new IllegalStateException(
                        "only " + (results.records().size() - before) + " of " + images + " results arrived");
            }
            List<TopicCollector.Arrival> arrivals = results.arrivals();
            long last = arrivals.get(arrivals.size() - 1).atMillis();
            return images / ((last - start) / 1000.0);
        }

        /** Each image of the round named {@code prefix} has exactly one result. */
        void assertExactlyOnce(String prefix, int images) throws Exception {
            Thread.sleep(2000); // a late duplicate would arrive by now
            Map<String, Integer> counts = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : results.records()) {
                String id = ImageResult.parseFrom(r.value()).getRequestId();
                if (id.startsWith(prefix)) {
                    counts.merge(id, 1, Integer::sum);
                }
            }
            long twice = counts.values().stream().filter(c -> c > 1).count();
            if (counts.size() != images || twice > 0) {
                throw new IllegalStateException(
                        counts.size() + " of " + images + " images have results, " + twice + " more than one");
            }
            System.out.printf("Exactly once: %d images, %d results, no duplicates%n", images, counts.size());
        }

        @Override
        public void close() {
            producer.close();
            results.close();
        }
    }

    /**
     * {@code --profile LIB}: async-profiler ({@code libasyncProfiler.so}) attached to each service and
     * the broker (in its own JVM) for the timed run only, CPU samples every millisecond, written as
     * collapsed stacks to {@code target/pipeline-profile-<process>.collapsed}; {@code --profile jfr}:
     * a JFR recording of each, {@code target/pipeline-profile-<process>.jfr}.
     *
     * @param pids the processes by name
     */
    record Profiler(String library, Map<String, Long> pids) {
        void start() throws Exception {
            for (long pid : pids.values()) {
                if ("jfr".equals(library)) {
                    jcmd(pid, "JFR.start", "name=pipeline", "settings=profile");
                } else if (library != null) {
                    agent(pid, "start,event=cpu,interval=1ms");
                }
            }
        }

        void stop() throws Exception {
            for (Map.Entry<String, Long> process : pids.entrySet()) {
                String name = "pipeline-profile-" + process.getKey();
                if ("jfr".equals(library)) {
                    Path out = Path.of("target", name + ".jfr").toAbsolutePath();
                    jcmd(process.getValue(), "JFR.stop", "name=pipeline", "filename=" + out);
                    System.out.println("Profile: " + out);
                } else if (library != null) {
                    Path out = Path.of("target", name + ".collapsed").toAbsolutePath();
                    agent(process.getValue(), "stop,file=" + out + ",collapsed");
                    System.out.println("Profile: " + out);
                }
            }
        }

        private void agent(long pid, String command) throws Exception {
            // quoted: jcmd would otherwise split the agent's options at the commas
            String out = jcmd(pid, "JVMTI.agent_load", library, "\"" + command + "\"");
            if (!out.contains("return code: 0")) {
                throw new IllegalStateException("jcmd " + pid + " JVMTI.agent_load failed: " + out);
            }
        }

        private static String jcmd(long pid, String... command) throws Exception {
            List<String> line = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(pid)));
            line.addAll(List.of(command));
            Process p = new ProcessBuilder(line).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException("jcmd " + pid + " " + String.join(" ", command) + " failed: " + out);
            }
            return out;
        }
    }

    /** CPU time of the measured processes (the three services, the broker, this JVM) since construction. */
    static final class Cpu {
        private final List<Long> pids;
        private final double[] start;

        Cpu(List<Long> pids) {
            this.pids = pids;
            start = sample();
        }

        /** CPU per image since construction: each process, then the JIT compiler's part of each in the same order. */
        double[] since(int images) {
            double[] now = sample();
            double[] out = new double[now.length];
            for (int i = 0; i < now.length; i++) {
                out[i] = (now[i] - start[i]) / images;
            }
            return out;
        }

        private double[] sample() {
            double[] cpu = cpu(pids);
            double[] jit = jit(pids);
            double[] out = new double[cpu.length + jit.length];
            System.arraycopy(cpu, 0, out, 0, cpu.length);
            System.arraycopy(jit, 0, out, cpu.length, jit.length);
            return out;
        }
    }

    /**
     * Per model, from the scoring service's metrics: batches run, rows (images) in them, and
     * seconds of compute (the batch's run, its out-of-domain scores included).
     */
    static Map<String, double[]> batching(int port, String... models) throws Exception {
        String metrics = ServiceProcess.get(port, "/q/metrics");
        Map<String, double[]> out = new java.util.TreeMap<>();
        for (String model : models) {
            String label = "model=\"" + model + "\"";
            out.put(model, new double[] {
                ServiceProcess.metricSum(metrics, "vision_inference_exec_count_total", label),
                ServiceProcess.metricSum(metrics, "vision_inference_count_total", label),
                ServiceProcess.metricSum(metrics, "vision_inference_compute_duration_seconds_sum", label)
            });
        }
        return out;
    }

    /**
     * The end offset of every topic, partitions summed: what the broker appended, data records,
     * changelog records, offset commits and transaction markers alike (a marker takes an offset).
     */
    static Map<String, Long> endOffsets(TestBroker broker) throws Exception {
        try (Admin admin =
                Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            Set<String> names = admin.listTopics(new ListTopicsOptions().listInternal(true))
                    .names()
                    .get();
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            admin.describeTopics(names)
                    .allTopicNames()
                    .get()
                    .forEach((name, description) -> description
                            .partitions()
                            .forEach(p -> request.put(new TopicPartition(name, p.partition()), OffsetSpec.latest())));
            Map<String, Long> out = new java.util.TreeMap<>();
            admin.listOffsets(request)
                    .all()
                    .get()
                    .forEach((tp, info) -> out.merge(tp.topic(), info.offset(), Long::sum));
            return out;
        }
    }

    /** Offsets appended per image, in all and by topic (largest first). */
    static void printRecords(Map<String, Long> before, Map<String, Long> after, int images) {
        Map<String, Long> delta = new HashMap<>();
        after.forEach((topic, end) -> {
            long d = end - before.getOrDefault(topic, 0L);
            if (d > 0) {
                delta.put(topic.replace(".it-cluster-pipeline-bench", ""), d);
            }
        });
        long total = delta.values().stream().mapToLong(Long::longValue).sum();
        StringBuilder parts = new StringBuilder();
        delta.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> parts.append(String.format(
                        Locale.ROOT,
                        "%s%s %.2f",
                        parts.length() == 0 ? "" : ", ",
                        e.getKey(),
                        (double) e.getValue() / images)));
        System.out.printf(
                Locale.ROOT,
                "Broker appends per image (records, transaction markers and offset commits): %.2f; %s%n",
                (double) total / images,
                parts);
    }

    private static Map<String, String> with(Map<String, String> settings, String key, String value) {
        Map<String, String> out = new HashMap<>(settings);
        out.put(key, value);
        return out;
    }

    static double processCpuMs() {
        return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e6;
    }

    /**
     * The pipeline as one loop: the same classes the services run, called directly. Models load
     * with one intra-op thread each, and the loop runs on as many threads as there are cores,
     * each taking whole batches, so every core works as the three services' together would.
     */
    static final class InJvm implements AutoCloseable {
        private final List<byte[]> encoded = new ArrayList<>();
        private final ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT, 0);
        private final ModelLoader runtime;
        private final InferenceEngine engine;
        private final LoadedModel classifier;
        private final LoadedModel encoder;
        private final BeamSearchDecoder beamSearch;
        private final Vocabulary vocabulary;
        private final int batch;
        private volatile long captionWords;
        /** Thread time in each stage (prepare, classifier, encoder, beam search) since the last reset. */
        private final AtomicLongArray stageNanos = new AtomicLongArray(4);

        InJvm(List<Path> files, int batch) throws Exception {
            for (Path f : files) {
                encoded.add(Files.readAllBytes(f));
            }
            this.batch = batch;
            ModelRepository repository = new ModelRepository(TestModels.dir());
            runtime = new ModelLoader(repository, new ExecutionSettings("cpu", 0, 0, false, 1, 1, true, 1));
            engine = new InferenceEngine(runtime);
            classifier = load(repository, ClusterDeployment.MODEL);
            encoder = load(repository, ENCODER);
            LoadedModel decoderModel = load(repository, DECODER);
            ModelConfig decoderConfig = decoderModel.config();
            vocabulary = Vocabulary.read(repository
                    .versionDir(decoderConfig.name(), decoderConfig.version())
                    .resolve(decoderConfig.vocab() == null ? "vocab.json" : decoderConfig.vocab()));
            beamSearch = new BeamSearchDecoder(runtime.environment(), decoderModel, vocabulary);
        }

        private LoadedModel load(ModelRepository repository, String name) {
            ModelConfig config = repository.latest(name).orElseThrow();
            return runtime.load(name, config.version());
        }

        /**
         * Milliseconds per image in each stage since {@link #resetStages}: decode, resize and
         * normalise for both models; fashion-cnn and its labels and out-of-domain score; the caption
         * encoder and its out-of-domain score; the beam search. Thread time, which is CPU time here
         * (no stage waits).
         */
        double[] stagesPerImage(int images) {
            double[] out = new double[stageNanos.length()];
            for (int i = 0; i < out.length; i++) {
                out[i] = stageNanos.get(i) / 1e6 / images;
            }
            return out;
        }

        void resetStages() {
            for (int i = 0; i < stageNanos.length(); i++) {
                stageNanos.set(i, 0);
            }
        }

        /** {@code images} images through the loop on {@code threads} threads; images/s. */
        double run(int images, int threads) throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                long start = System.nanoTime();
                List<Future<?>> work = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int first = t;
                    work.add(pool.submit(() -> {
                        BatchBuffers buffers = new BatchBuffers();
                        for (int b = first * batch; b < images; b += threads * batch) {
                            process(b, Math.min(batch, images - b), buffers);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : work) {
                    f.get();
                }
                return images / ((System.nanoTime() - start) / 1e9);
            } finally {
                pool.shutdownNow();
            }
        }

        private void process(int first, int count, BatchBuffers buffers) throws Exception {
            long start = System.nanoTime();
            List<ModelInferRequest> toClassifier = new ArrayList<>(count);
            List<ModelInferRequest> toEncoder = new ArrayList<>(count);
            for (int i = first; i < first + count; i++) {
                String id = "img-" + i;
                byte[] bytes = encoded.get(i % encoded.size());
                toClassifier.add(request(bytes, classifier.config(), id));
                toEncoder.add(request(bytes, encoder.config(), id));
            }
            long t0 = System.nanoTime();
            List<InferenceEngine.Outcome> scored = engine.infer(classifier, toClassifier, buffers);
            for (int i = 0; i < count; i++) {
                Classifications.fromResponse(classifier.config(), toClassifier.get(i), response(scored.get(i)), 5);
            }
            long t1 = System.nanoTime();
            List<InferenceEngine.Outcome> encodings = engine.infer(encoder, toEncoder, buffers);
            List<float[]> features = new ArrayList<>(count);
            for (InferenceEngine.Outcome o : encodings) {
                features.add(features(response(o)));
            }
            long t2 = System.nanoTime();
            List<BeamSearchDecoder.Result> captions = beamSearch.decode(features, 3, 0, vocabulary.maxLength(), 0.0);
            long t3 = System.nanoTime();
            stageNanos.addAndGet(0, t0 - start);
            stageNanos.addAndGet(1, t1 - t0);
            stageNanos.addAndGet(2, t2 - t1);
            stageNanos.addAndGet(3, t3 - t2);
            long words = 0;
            for (BeamSearchDecoder.Result r : captions) {
                words += vocabulary.text(r.best().tokens()).split(" ").length;
            }
            captionWords += words;
        }

        private ModelInferRequest request(byte[] bytes, ModelConfig config, String id) throws Exception {
            ModelConfig.TensorSpec input = config.imageInput();
            RgbImage image = decoder.decode(bytes, input.colours());
            return TensorPreparer.prepare(image, input, true)
                    .toInferRequest(id, config)
                    .build();
        }

        private static ModelInferResponse response(InferenceEngine.Outcome o) {
            if (!o.ok()) {
                throw new IllegalStateException(o.error().getMessage());
            }
            return o.response();
        }

        private static float[] features(ModelInferResponse response) {
            for (int i = 0; i < response.getOutputsCount(); i++) {
                if ("features".equals(response.getOutputs(i).getName())) {
                    FloatBuffer f = response.getRawOutputContents(i)
                            .asReadOnlyByteBuffer()
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .asFloatBuffer();
                    float[] out = new float[f.remaining()];
                    f.get(out);
                    return out;
                }
            }
            throw new IllegalStateException("the encoder gave no features");
        }

        @Override
        public void close() {
            classifier.close();
            encoder.close();
        }
    }
}
