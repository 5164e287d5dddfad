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
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

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
 * bench/pipeline.sh [--images 2000] [--photos true] [--threads N] [--batch 8] [--profile libasyncProfiler.so]
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
        double inJvm;
        double inJvmCpu;
        try {
            warmUp("in-JVM", () -> loop.run(Math.min(images, 1000), threads));
            double before = processCpuMs();
            inJvm = loop.run(images, threads);
            inJvmCpu = (processCpuMs() - before) / images;
        } finally {
            loop.close();
        }
        System.out.printf(Locale.ROOT, "(in-JVM set-up CPU %.0f ms)%n", processCpuMs() - cpuBefore);

        TestBroker broker = TestBrokers.startNew();
        try (ClusterDeployment d = new ClusterDeployment(broker, "pipeline-bench")) {
            String models = ClusterDeployment.MODEL + "," + ENCODER;
            d.start(SCORING, 1, Map.of("vision.scoring.models", models));
            d.start(PREPROCESS, 1, Map.of("vision.preprocess.default-models", models));
            d.start(CAPTIONING, 1);
            for (ClusterDeployment.Service s : ClusterDeployment.Service.values()) {
                d.awaitReady(d.instance(s, 1));
            }
            double kafka;
            double[] perImage;
            try (Feed feed = new Feed(broker, d.topics(), files)) {
                int[] round = {0};
                warmUp("Kafka", () -> feed.run("warm" + round[0]++ + "-", Math.min(images, 1000)));
                Cpu cpu = new Cpu(d);
                Profiler profiler = new Profiler(options.get("profile", null), d);
                profiler.start();
                kafka = feed.run("bench-", images);
                perImage = cpu.since(images);
                profiler.stop();
                feed.assertExactlyOnce("bench-", images);
            }

            System.out.println();
            System.out.println("| path | images/s | share of the in-JVM loop | CPU per image |");
            System.out.println("|---|---:|---:|---|");
            System.out.printf(
                    Locale.ROOT,
                    "| in-JVM loop: decode, resize, fashion-cnn, caption encoder, beam search (%d threads)"
                            + " | %.1f | 100%% | %.2f ms |%n",
                    threads,
                    inJvm,
                    inJvmCpu);
            System.out.printf(
                    Locale.ROOT,
                    "| Kafka, three services, one broker, results joined | %.1f | %.0f%% | preprocess %.2f ms,"
                            + " scoring %.2f ms, captioning %.2f ms, broker + client %.2f ms; total %.2f ms |%n",
                    kafka,
                    100 * kafka / inJvm,
                    perImage[0],
                    perImage[1],
                    perImage[2],
                    perImage[3],
                    perImage[0] + perImage[1] + perImage[2] + perImage[3]);
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

    /** Rounds until two in a row agree within 5% on images/s, at most 10. */
    static void warmUp(String name, Round round) throws Exception {
        Settling settling = new Settling();
        for (int i = 1; i <= 10; i++) {
            double rate = round.run();
            System.out.printf(Locale.ROOT, "%s warm-up round %d: %.1f images/s%n", name, i, rate);
            if (settling.settled(rate)) {
                return;
            }
        }
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
     * {@code --profile LIB}: async-profiler ({@code libasyncProfiler.so}) attached to each service for
     * the timed run only, CPU samples every millisecond, written as collapsed stacks to {@code
     * target/pipeline-profile-<service>.collapsed}; {@code --profile jfr}: a JFR recording of each
     * service for the timed run, {@code target/pipeline-profile-<service>.jfr}.
     */
    record Profiler(String library, ClusterDeployment d) {
        void start() throws Exception {
            for (ClusterDeployment.Service s : ClusterDeployment.Service.values()) {
                if ("jfr".equals(library)) {
                    jcmd(d.instance(s, 1).pid(), "JFR.start", "name=pipeline", "settings=profile");
                } else if (library != null) {
                    agent(d.instance(s, 1).pid(), "start,event=cpu,interval=1ms");
                }
            }
        }

        void stop() throws Exception {
            for (ClusterDeployment.Service s : ClusterDeployment.Service.values()) {
                String name = "pipeline-profile-" + s.name().toLowerCase(Locale.ROOT);
                if ("jfr".equals(library)) {
                    Path out = Path.of("target", name + ".jfr").toAbsolutePath();
                    jcmd(d.instance(s, 1).pid(), "JFR.stop", "name=pipeline", "filename=" + out);
                    System.out.println("Profile: " + out);
                } else if (library != null) {
                    Path out = Path.of("target", name + ".collapsed").toAbsolutePath();
                    agent(d.instance(s, 1).pid(), "stop,file=" + out + ",collapsed");
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
    /** CPU time of the three services and of this JVM (the broker and the benchmark's clients). */
    static final class Cpu {
        private final List<Process> services;
        private final double[] start;

        Cpu(ClusterDeployment d) {
            services = List.of(
                    d.instance(PREPROCESS, 1).process(),
                    d.instance(SCORING, 1).process(),
                    d.instance(CAPTIONING, 1).process());
            start = sample();
        }

        double[] since(int images) {
            double[] now = sample();
            double[] out = new double[now.length];
            for (int i = 0; i < now.length; i++) {
                out[i] = (now[i] - start[i]) / images;
            }
            return out;
        }

        private double[] sample() {
            double[] out = new double[services.size() + 1];
            for (int i = 0; i < services.size(); i++) {
                out[i] = services.get(i)
                                .toHandle()
                                .info()
                                .totalCpuDuration()
                                .orElse(Duration.ZERO)
                                .toNanos()
                        / 1e6;
            }
            out[services.size()] = processCpuMs();
            return out;
        }
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
            List<ModelInferRequest> toClassifier = new ArrayList<>(count);
            List<ModelInferRequest> toEncoder = new ArrayList<>(count);
            for (int i = first; i < first + count; i++) {
                String id = "img-" + i;
                byte[] bytes = encoded.get(i % encoded.size());
                toClassifier.add(request(bytes, classifier.config(), id));
                toEncoder.add(request(bytes, encoder.config(), id));
            }
            List<InferenceEngine.Outcome> scored = engine.infer(classifier, toClassifier, buffers);
            for (int i = 0; i < count; i++) {
                Classifications.fromResponse(classifier.config(), toClassifier.get(i), response(scored.get(i)), 5);
            }
            List<InferenceEngine.Outcome> encodings = engine.infer(encoder, toEncoder, buffers);
            List<float[]> features = new ArrayList<>(count);
            for (InferenceEngine.Outcome o : encodings) {
                features.add(features(response(o)));
            }
            List<BeamSearchDecoder.Result> captions = beamSearch.decode(features, 3, 0, vocabulary.maxLength(), 0.0);
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
