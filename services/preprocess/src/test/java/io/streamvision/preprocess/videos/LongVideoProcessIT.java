package io.streamvision.preprocess.videos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import io.streamvision.video.SyntheticVideos;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Long videos through the packaged preprocess service, run as separate processes against a real
 * broker: a 6-minute video (written at test time) is cut into segments, each committed in its own
 * transaction, with the transaction timeout lowered to 5 s (one transaction for the whole video
 * would outlive it). Frame tensors are counted on the tensor topic with a read_committed reader:
 * every sampled frame exactly once, with two segment loops in one instance, across a {@code kill
 * -9} mid-video of such an instance and with two instances decoding one video together, while
 * images sent meanwhile get their tensors.
 */
@ExtendWith(KafkaBrokerExtension.class)
class LongVideoProcessIT {

    private static final String SUFFIX = ".it-long-video";
    private static final String MODEL = "fashion-cnn";
    private static final int SECONDS = 360;
    private static final int FPS = 25;
    private static Path media;
    private static Path video;

    private final List<Process> processes = new ArrayList<>();

    @BeforeAll
    static void writeVideo() throws Exception {
        media = Path.of("target/it-media").toAbsolutePath();
        Files.createDirectories(media);
        // With B-frames, as most encoders write them: the decoder skips those no sampled frame needs,
        // so the kill -9 in the middle also lands while frames are being skipped.
        video = media.resolve("six-minutes-b-frames.mp4");
        if (!Files.exists(video)) {
            SyntheticVideos.write(video, SyntheticVideos.Container.MP4, 160, 120, FPS, SECONDS, 2, 2);
        }
    }

    @AfterEach
    void stopProcesses() throws Exception {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            p.waitFor();
        }
    }

    private Process start(TestBroker broker, String instance, int httpPort, double segmentSeconds) throws Exception {
        return start(broker, instance, httpPort, segmentSeconds, 1);
    }

    private Process start(TestBroker broker, String instance, int httpPort, double segmentSeconds, int segmentLoops)
            throws Exception {
        Path models = TestModels.dir();
        Map<String, String> props = ServiceProcess.settings(broker.bootstrapServers(), SUFFIX);
        props.putAll(Map.of(
                "vision.kafka.partitions",
                "4",
                "vision.preprocess.models-dir",
                models.toString(),
                "vision.preprocess.default-models",
                MODEL,
                "vision.preprocess.video.sources.file-roots",
                media.toString(),
                "vision.preprocess.video.segment-seconds",
                Double.toString(segmentSeconds),
                "vision.preprocess.video.kafka.transactional-id",
                "it-long-video-" + instance,
                "vision.preprocess.video.kafka.transaction-timeout-ms",
                "5000",
                "quarkus.http.port",
                Integer.toString(httpPort)));
        props.put("vision.preprocess.video.segment-loops", Integer.toString(segmentLoops));
        props.put("quarkus.kafka-streams.application-id", "it-long-video-images");
        props.put(
                "vision.preprocess.video.work-dir",
                Files.createTempDirectory("video-work-" + instance).toString());
        Process p = ServiceProcess.start(
                ".", props, Path.of("target/long-video-" + instance + "-" + System.nanoTime() + ".log"));
        processes.add(p);
        return p;
    }

    private static void awaitReady(int port) throws Exception {
        ServiceProcess.awaitReady(port, Duration.ofSeconds(120));
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String key, byte[] value)
            throws Exception {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value))
                .get();
    }

    /** Sends a video request, keyed by its video id, to the videos topic. */
    private static void sendVideo(KafkaProducer<byte[], byte[]> producer, Topics topics, VideoRequest.Builder request)
            throws Exception {
        send(
                producer,
                topics.videos().name(),
                request.getVideoId(),
                request.build().toByteArray());
    }

    private static VideoRequest.Builder request(String id) {
        return VideoRequest.newBuilder().setVideoId(id).addModels(MODEL);
    }

    /** A request for the six-minute video, by its file URI. */
    private static VideoRequest.Builder sixMinutes(String id) {
        return request(id).setUri(video.toUri().toString());
    }

    /**
     * Frame indices of one video's tensors, in arrival order (duplicates kept, so they can be
     * seen).
     */
    /**
     * Waits until the collector has read {@code expected} frames of one video. The topic holds
     * earlier tests' frames too, and a video's last tensors may arrive after its last event.
     */
    private static void awaitFrames(TopicCollector tensors, String videoId, long expected, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (frames(tensors, videoId).size() < expected && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
    }

    private static List<Long> frames(TopicCollector tensors, String videoId) {
        List<Long> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : tensors.records()) {
            if (!videoId.equals(new String(r.key(), StandardCharsets.UTF_8))) {
                continue;
            }
            try {
                out.add(ModelInferRequest.parseFrom(r.value())
                        .getParametersOrThrow("frame_index")
                        .getInt64Param());
            } catch (InvalidProtocolBufferException e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    private static List<VideoSampled> events(TopicCollector events, String videoId) {
        return events.records().stream()
                .filter(r -> videoId.equals(new String(r.key(), StandardCharsets.UTF_8)))
                .map(r -> {
                    try {
                        return VideoSampled.parseFrom(r.value());
                    } catch (InvalidProtocolBufferException e) {
                        throw new AssertionError(e);
                    }
                })
                .toList();
    }

    /** Waits for the event of the final segment and for the events of all segments before it. */
    private static List<VideoSampled> awaitAllSegments(TopicCollector events, String videoId, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            List<VideoSampled> seen = events(events, videoId);
            int last = seen.stream()
                    .filter(VideoSampled::getFinalSegment)
                    .mapToInt(VideoSampled::getSegmentIndex)
                    .min()
                    .orElse(-1);
            if (last >= 0
                    && seen.stream()
                                    .map(VideoSampled::getSegmentIndex)
                                    .filter(i -> i <= last)
                                    .distinct()
                                    .count()
                            == last + 1) {
                return seen;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("video "
                + videoId
                + " did not finish: "
                + events(events, videoId).size()
                + " events");
    }

    private static void assertExactlyOnce(List<Long> frames, long expected, String what) {
        Set<Long> distinct = new HashSet<>(frames);
        assertEquals(frames.size(), distinct.size(), what + ": no frame twice");
        assertEquals(expected, distinct.size(), what + ": every sampled frame");
    }

    @Test
    void longVideoIsCutIntoSegmentsWhileImagesKeepFlowing() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Topics topics = new Topics(SUFFIX);
        // Two segment loops in one instance: they decode segments of the same video at once.
        start(broker, "a", 18201, 30, 2);
        awaitReady(18201);
        assertEquals(2, ServiceProcess.readinessValue(18201, "segments-loops"));
        String eachBefore = ServiceProcess.readinessText(18201, "segments-transactions-each");
        try (TopicCollector tensors = broker.collect(topics.tensors(MODEL).name());
                TopicCollector events = broker.collect(topics.videoEvents().name());
                TopicCollector segments = broker.collect(topics.videoSegments().name());
                TopicCollector dlq = broker.collect(topics.deadLetters().name());
                KafkaProducer<byte[], byte[]> producer = broker.producer()) {
            long start = System.nanoTime();
            sendVideo(producer, topics, sixMinutes("long-1").setTargetFps(5));
            // Images during the video: each must get its tensor; the latencies are printed.
            List<Path> items;
            try (Stream<Path> files = Files.list(Path.of("../../samples/items"))) {
                items = files.filter(f ->
                                f.toString().endsWith(".png") || f.toString().endsWith(".jpg"))
                        .sorted()
                        .toList();
            }
            List<Path> images = Stream.iterate(0, i -> i + 1)
                    .limit(20)
                    .map(i -> items.get(i % items.size()))
                    .toList();
            CompletableFuture<List<Long>> latencies = CompletableFuture.supplyAsync(() -> {
                List<Long> ms = new ArrayList<>();
                try {
                    for (int i = 0; i < images.size(); i++) {
                        String id = "image-during-video-" + i;
                        long sent = System.nanoTime();
                        send(
                                producer,
                                topics.images().name(),
                                id,
                                ImageRequest.newBuilder()
                                        .setRequestId(id)
                                        .setImage(ByteString.copyFrom(Files.readAllBytes(images.get(i))))
                                        .build()
                                        .toByteArray());
                        long deadline = sent + Duration.ofSeconds(30).toNanos();
                        while (tensors.records().stream()
                                .noneMatch(r -> id.equals(new String(r.key(), StandardCharsets.UTF_8)))) {
                            if (System.nanoTime() > deadline) {
                                throw new AssertionError("image " + id + " got no tensor within 30 s during the video");
                            }
                            Thread.sleep(5);
                        }
                        ms.add((System.nanoTime() - sent) / 1_000_000);
                        Thread.sleep(200);
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                return ms;
            });

            // Inline bytes with the MP4 index at the end, and refused sources.
            Path inline = media.resolve("inline-moov-at-end.mp4");
            SyntheticVideos.write(inline, SyntheticVideos.Container.MP4, 96, 64, 10, 4, 1);
            sendVideo(
                    producer,
                    topics,
                    request("inline-1")
                            .setVideo(ByteString.copyFrom(Files.readAllBytes(inline)))
                            .setTargetFps(2));
            sendVideo(producer, topics, request("passwd-1").setUri("file:/etc/passwd"));
            sendVideo(producer, topics, request("metadata-1").setUri("http://169.254.169.254/latest/meta-data/"));

            List<VideoSampled> seen = awaitAllSegments(events, "long-1", Duration.ofSeconds(300));
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(
                    12,
                    seen.stream().map(VideoSampled::getSegmentIndex).distinct().count(),
                    "6 min in 30 s segments");
            assertEquals(
                    1800,
                    seen.stream().mapToLong(VideoSampled::getFramesSampled).sum());
            long decoded =
                    seen.stream().mapToLong(VideoSampled::getFramesDecoded).sum();
            long skipped =
                    seen.stream().mapToLong(VideoSampled::getFramesSkipped).sum();
            assertEquals(SECONDS * FPS, decoded + skipped, "every frame of the video decoded or skipped");
            assertTrue(skipped > SECONDS * FPS / 4, "B-frames no 5 fps sample needs are skipped: " + skipped);
            awaitFrames(tensors, "long-1", 1800, Duration.ofSeconds(30));
            assertExactlyOnce(frames(tensors, "long-1"), 1800, "long-1");
            // The video loops' partitioner puts a video's 12 segments on the segment topic's 12
            // partitions one each; hashing their keys would put two or more on one partition.
            Set<Integer> partitions = segments.records().stream()
                    .filter(r -> new String(r.key(), StandardCharsets.UTF_8).startsWith("long-1/"))
                    .map(ConsumerRecord::partition)
                    .collect(Collectors.toSet());
            assertEquals(12, partitions.size(), "long-1's segments, one per partition: " + partitions);
            String each = ServiceProcess.readinessText(18201, "segments-transactions-each");
            System.out.printf("[long video IT] segments per loop: %s (before the video: %s)%n", each, eachBefore);
            assertTrue(
                    Arrays.stream(each.split(",")).allMatch(n -> Long.parseLong(n) > 0),
                    "both loops of the instance decoded segments: " + each);
            List<Long> ms = latencies.get();
            List<Long> sorted = ms.stream().sorted().toList();
            System.out.printf(
                    "[long video IT] 6 min video, 1800 frames at 5 fps in 12 segments: %.1f s; %d images"
                            + " during it: p50 %d ms, max %d ms%n",
                    seconds, ms.size(), sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1));
            assertEquals(images.size(), ms.size(), "every image got its tensor while the video decoded");

            List<VideoSampled> inlineEvents = awaitAllSegments(events, "inline-1", Duration.ofSeconds(60));
            assertEquals(
                    8,
                    inlineEvents.stream()
                            .mapToLong(VideoSampled::getFramesSampled)
                            .sum(),
                    "inline MP4 with the index at the end: 2 fps over 4 s");
            for (String refused : List.of("passwd-1", "metadata-1")) {
                VideoSampled failed = awaitAllSegments(events, refused, Duration.ofSeconds(60))
                        .get(0);
                assertTrue(failed.getFailed());
                assertEquals(ReasonCode.SOURCE_NOT_ALLOWED, failed.getFailureReason(), refused);
                dlq.awaitAtLeast(2, Duration.ofSeconds(10));
                assertTrue(
                        dlq.records().stream()
                                .map(r -> {
                                    try {
                                        return DeadLetter.parseFrom(r.value());
                                    } catch (InvalidProtocolBufferException e) {
                                        throw new AssertionError(e);
                                    }
                                })
                                .anyMatch(d -> d.getReason() == ReasonCode.SOURCE_NOT_ALLOWED
                                        && d.getRequestId().equals(refused)),
                        refused + " is dead-lettered SOURCE_NOT_ALLOWED");
            }
        }
    }

    @Test
    void killDashNineMidVideoResumesWithEveryFrameOnce() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Topics topics = new Topics(SUFFIX);
        Process first = start(broker, "kill", 18211, 15, 2);
        awaitReady(18211);
        try (TopicCollector tensors = broker.collect(topics.tensors(MODEL).name());
                TopicCollector events = broker.collect(topics.videoEvents().name());
                KafkaProducer<byte[], byte[]> producer = broker.producer()) {
            sendVideo(producer, topics, sixMinutes("kill-1").setEveryNFrames(1));
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (events(events, "kill-1").size() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            first.destroyForcibly().waitFor();
            int atKill = events(events, "kill-1").size();
            System.out.printf("[long video IT] killed (SIGKILL) with %d of 24 segments committed%n", atKill);
            assertTrue(atKill >= 4 && atKill < 24, "killed mid-video: " + atKill + " segments done");
            start(broker, "kill", 18212, 15, 2);
            List<VideoSampled> seen = awaitAllSegments(events, "kill-1", Duration.ofSeconds(300));
            assertEquals(24, seen.size(), "one event per segment, none repeated");
            long expected = (long) SECONDS * FPS;
            awaitFrames(tensors, "kill-1", expected, Duration.ofSeconds(30));
            assertExactlyOnce(frames(tensors, "kill-1"), expected, "kill-1 after kill -9 and restart");
        }
    }

    @Test
    void twoInstancesDecodeOneVideoTogether() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Topics topics = new Topics(SUFFIX);
        start(broker, "one", 18221, 20);
        start(broker, "two", 18222, 20);
        awaitReady(18221);
        awaitReady(18222);
        ServiceProcess.awaitReadinessValues("segments-partitions", Duration.ofSeconds(60), 18221, 18222);
        long before1 = ServiceProcess.readinessValue(18221, "segments-transactions");
        long before2 = ServiceProcess.readinessValue(18222, "segments-transactions");
        try (TopicCollector tensors = broker.collect(topics.tensors(MODEL).name());
                TopicCollector events = broker.collect(topics.videoEvents().name());
                KafkaProducer<byte[], byte[]> producer = broker.producer()) {
            sendVideo(producer, topics, sixMinutes("pair-1").setTargetFps(5));
            List<VideoSampled> seen = awaitAllSegments(events, "pair-1", Duration.ofSeconds(300));
            assertEquals(18, seen.size(), "6 min in 20 s segments");
            awaitFrames(tensors, "pair-1", 1800, Duration.ofSeconds(30));
            assertExactlyOnce(frames(tensors, "pair-1"), 1800, "pair-1 on two instances");
            long by1 = ServiceProcess.readinessValue(18221, "segments-transactions") - before1;
            long by2 = ServiceProcess.readinessValue(18222, "segments-transactions") - before2;
            System.out.printf("[long video IT] two instances: %d and %d of 18 segments%n", by1, by2);
            assertTrue(by1 > 0 && by2 > 0, "both instances decoded segments: " + by1 + " and " + by2);
            assertEquals(18, by1 + by2);
        }
    }
}
