package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.proto.vision.v1.VideoSummary;
import io.streamvision.testing.ExactlyOnce;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TopicCollector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What every cluster test sends and checks: images at a steady rate (the sample items, round
 * robin) and one multi-segment video (the sample video, every 5th frame), read back {@code
 * read_committed}: one result per image, one tensor and one score per image and per sampled frame,
 * one final COMPLETE summary for the video, no dead letters. Also the latency of each image from
 * its send to its result's arrival, and the longest gap between results (the stall a fault cost).
 */
final class ClusterWorkload implements AutoCloseable {

    /** Images per test; {@code -Dvision.cluster.images} makes the bench runs longer. */
    static final int IMAGES = Integer.getInteger("vision.cluster.images", 200);

    /** Images sent per second. */
    static final int RATE = Integer.getInteger("vision.cluster.rate", 10);

    static final String VIDEO_ID = "cluster-video";
    static final int EVERY = 5;

    private final int images;
    private final int rate;
    private final String prefix;
    private final boolean withVideo;
    private volatile long firstSentMillis;
    private final Topics topics;
    private final TopicCollector results;
    private final TopicCollector tensors;
    private final TopicCollector scores;
    private final TopicCollector summaries;
    private final TopicCollector deadLetters;
    /** The scores topic read_uncommitted: records of aborted transactions too. */
    private final TopicCollector allScores;

    private final KafkaProducer<byte[], byte[]> producer;
    private final Map<String, Long> sentAt = new ConcurrentHashMap<>();
    private final List<String> imageIds = Collections.synchronizedList(new ArrayList<>());
    private final List<Path> items;
    private final Path video;
    private Thread feeder;
    private volatile Exception feedFailure;

    ClusterWorkload(TestBroker broker, ClusterDeployment deployment) throws IOException {
        this(broker, deployment, IMAGES, RATE);
    }

    /** The same with {@code images} images at {@code rate} per second (0: all at once). */
    ClusterWorkload(TestBroker broker, ClusterDeployment deployment, int images, int rate) throws IOException {
        this(broker, deployment, images, rate, "img-", true);
    }

    /**
     * The same with image ids {@code prefix + i} (a second workload on the same topics needs its
     * own), and without the video when {@code withVideo} is false.
     */
    ClusterWorkload(
            TestBroker broker, ClusterDeployment deployment, int images, int rate, String prefix, boolean withVideo)
            throws IOException {
        this.prefix = prefix;
        this.withVideo = withVideo;

        this.images = images;
        this.rate = rate;
        this.topics = deployment.topics();
        Path samples = io.streamvision.testing.TestModels.dir().getParent().resolve("samples");
        try (Stream<Path> files = Files.list(samples.resolve("items"))) {
            items = files.filter(
                            f -> f.toString().endsWith(".png") || f.toString().endsWith(".jpg"))
                    .sorted()
                    .toList();
        }
        video = samples.resolve("video.mp4");
        results = broker.collect(topics.results().name());
        tensors = broker.collect(topics.tensors(ClusterDeployment.MODEL).name());
        scores = broker.collect(topics.scores().name());
        summaries = broker.collect(topics.videoSummaries().name());
        deadLetters = broker.collect(topics.deadLetters().name());
        allScores = TopicCollector.uncommitted(
                broker.bootstrapServers(), topics.scores().name());
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * 1024 * 1024);
        // Rides out a lost broker: the send is retried until a new leader takes it.
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000);
        producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Sends the video, then the images at {@link #RATE} per second on a thread of their own. */
    void start() throws Exception {
        if (withVideo) {
            producer.send(PipelineRequests.inlineVideo(topics, VIDEO_ID, video, EVERY))
                    .get();
        }
        feeder = new Thread(this::feed, "cluster-feeder");
        feeder.start();
    }

    private void feed() {
        long start = System.nanoTime();
        try {
            firstSentMillis = System.currentTimeMillis();
            for (int i = 0; i < images; i++) {
                long due = rate <= 0 ? 0 : start + i * 1_000_000_000L / rate;
                long wait = rate <= 0 ? 0 : due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                String id = prefix + i;
                sentAt.put(id, System.currentTimeMillis());
                imageIds.add(id);
                producer.send(PipelineRequests.image(topics, id, items.get(i % items.size())));
            }
            producer.flush();
        } catch (Exception e) {
            feedFailure = e;
        }
    }

    /** Waits until {@code count} images have been sent. */
    void awaitSent(int count) throws InterruptedException {
        while (imageIds.size() < count && feeder.isAlive()) {
            Thread.sleep(20);
        }
    }

    /** Waits until every image has been sent. */
    void awaitFed() throws Exception {
        feeder.join();
        if (feedFailure != null) {
            throw feedFailure;
        }
    }

    /** Images sent so far. */
    int sentCount() {
        return imageIds.size();
    }

    /** Records of {@code scores} (read_uncommitted or not) that answer this workload's inputs. */
    private int oursIn(TopicCollector scores) throws InvalidProtocolBufferException {
        int n = 0;
        for (var r : scores.records()) {
            if (ours(scoreId(Classification.parseFrom(r.value())))) {
                n++;
            }
        }
        return n;
    }

    /** Whether an output's id is one of this workload's inputs (several may share the topics). */
    private boolean ours(String id) {
        return id.startsWith(prefix) || (withVideo && id.startsWith(VIDEO_ID + "/"));
    }

    private int resultsOfThisWorkload() throws InvalidProtocolBufferException {
        int n = 0;
        for (var r : results.records()) {
            if (ImageResult.parseFrom(r.value()).getRequestId().startsWith(prefix)) {
                n++;
            }
        }
        return n;
    }

    /** Results received so far. */
    int resultCount() {
        return results.records().size();
    }

    /**
     * Waits for every output, then a little longer for any late duplicate, and checks that each
     * input has exactly one of each output; prints and returns the figures.
     */
    Figures verify(String test, long faultStartMillis, long faultEndMillis) throws Exception {
        awaitFed();
        long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
        while (System.nanoTime() < deadline
                && !(resultsOfThisWorkload() >= images && finalSummaries() >= (withVideo ? 1 : 0))) {
            Thread.sleep(200);
        }
        Thread.sleep(3000);
        List<String> resultIds = new ArrayList<>();
        for (var r : results.records()) {
            String id = ImageResult.parseFrom(r.value()).getRequestId();
            if (ours(id)) {
                resultIds.add(id);
            }
        }
        ExactlyOnce images = ExactlyOnce.of(imageIds, resultIds);
        List<VideoSummary> finals = new ArrayList<>();
        for (var r : summaries.records()) {
            VideoSummary s = VideoSummary.parseFrom(r.value());
            if (s.getFinal()) {
                finals.add(s);
            }
        }
        long sampled = finals.isEmpty() ? 0 : finals.get(0).getFramesSampled();
        List<String> expected = new ArrayList<>(imageIds);
        for (long f = 0; f < sampled * EVERY; f += EVERY) {
            expected.add(VIDEO_ID + "/" + f);
        }
        List<String> tensorIds = new ArrayList<>();
        for (var r : tensors.records()) {
            String id = ModelInferRequest.parseFrom(r.value()).getId();
            if (ours(id)) {
                tensorIds.add(id);
            }
        }
        List<String> scoreIds = new ArrayList<>();
        for (var r : scores.records()) {
            String id = scoreId(Classification.parseFrom(r.value()));
            if (ours(id)) {
                scoreIds.add(id);
            }
        }
        ExactlyOnce tensorCheck = ExactlyOnce.of(expected, tensorIds);
        ExactlyOnce scoreCheck = ExactlyOnce.of(expected, scoreIds);
        Figures figures = figures(faultStartMillis, faultEndMillis, oursIn(allScores) - scoreIds.size());
        System.out.printf(
                "[cluster IT] %s: results %s; tensors %s; scores %s; video summaries: %d final (%s, %d frames);"
                        + " dead letters %d%n[cluster IT] %s: %s%n",
                test,
                images.summary(),
                tensorCheck.summary(),
                scoreCheck.summary(),
                finals.size(),
                finals.isEmpty() ? "none" : finals.get(0).getState(),
                sampled,
                deadLetters.records().size(),
                test,
                figures);
        images.assertExactlyOnce();
        if (withVideo) {
            assertEquals(1, finals.size(), "one final summary for the video");
            assertEquals(VideoSummary.State.COMPLETE, finals.get(0).getState(), "the video is COMPLETE");
            assertTrue(sampled >= 90, "the video's frames were sampled: " + sampled);
        }
        tensorCheck.assertExactlyOnce();
        scoreCheck.assertExactlyOnce();
        assertEquals(0, deadLetters.records().size(), "no dead letters");
        return figures;
    }

    private static String scoreId(Classification c) {
        return c.getRequestId();
    }

    private long finalSummaries() throws InvalidProtocolBufferException {
        long n = 0;
        for (var r : summaries.records()) {
            if (VideoSummary.parseFrom(r.value()).getFinal()) {
                n++;
            }
        }
        return n;
    }

    /** Latency and stall figures of one run. */
    record Figures(
            double imagesPerSecond,
            double p50Ms,
            double p99Ms,
            double maxMs,
            double faultP99Ms,
            double longestGapMs,
            int faultImages,
            int redoneScores) {
        @Override
        public String toString() {
            return String.format(
                    "%.1f images/s from the first image sent to the last result; image latency p50 %.0f ms, p99 %.0f"
                            + " ms, max %.0f ms; images sent during the fault: %d, their p99 %.0f ms; longest gap between"
                            + " results %.1f s; scores written in aborted transactions (redone): %d",
                    imagesPerSecond, p50Ms, p99Ms, maxMs, faultImages, faultP99Ms, longestGapMs / 1000, redoneScores);
        }
    }

    private Figures figures(long faultStart, long faultEnd, int redoneScores) throws InvalidProtocolBufferException {
        List<Long> all = new ArrayList<>();
        List<Long> inFault = new ArrayList<>();
        List<Long> arrivals = new ArrayList<>();
        for (TopicCollector.Arrival a : results.arrivals()) {
            String id = ImageResult.parseFrom(a.record().value()).getRequestId();
            Long sent = sentAt.get(id);
            if (sent == null) {
                continue;
            }
            long latency = a.atMillis() - sent;
            all.add(latency);
            if (sent >= faultStart && sent <= faultEnd) {
                inFault.add(latency);
            }
            arrivals.add(a.atMillis());
        }
        Collections.sort(arrivals);
        long gap = 0;
        for (int i = 1; i < arrivals.size(); i++) {
            gap = Math.max(gap, arrivals.get(i) - arrivals.get(i - 1));
        }
        double seconds =
                arrivals.isEmpty() ? Double.NaN : (arrivals.get(arrivals.size() - 1) - firstSentMillis) / 1000.0;
        return new Figures(
                all.size() / seconds,
                percentile(all, 0.50),
                percentile(all, 0.99),
                percentile(all, 1.0),
                percentile(inFault, 0.99),
                gap,
                inFault.size(),
                redoneScores);
    }

    private static double percentile(List<Long> values, double q) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int index = (int) Math.ceil(q * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
        for (TopicCollector c : List.of(results, tensors, scores, summaries, deadLetters, allScores)) {
            c.close();
        }
    }
}
