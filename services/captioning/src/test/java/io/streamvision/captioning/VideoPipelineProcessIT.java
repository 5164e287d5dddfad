package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.streamvision.captioning.streams.ScheduleCheck;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.CaptioningServiceGrpc;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.GetVideoSummaryRequest;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSummary;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import io.streamvision.video.SyntheticVideos;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Video frames end to end through the packaged services as separate processes: preprocess decodes
 * the sample MP4, scoring classifies the frames with fashion-cnn, and two captioning instances (one
 * Kafka Streams application) aggregate them. The final summary's timeline matches the video's
 * schedule, and both instances answer GET /videos/{id} and gRPC GetVideoSummary with it although
 * only one of them holds the video.
 */
@ExtendWith(KafkaBrokerExtension.class)
class VideoPipelineProcessIT {

    private static final String SUFFIX = ".it-videos";
    private static final int EVERY = 5;

    @Test
    void sampleVideoTimelineMatchesScheduleAndIsQueryableOnEitherInstance() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Path models = TestModels.dir();
        Path root = models.getParent();
        Topics topics = new Topics(SUFFIX);
        List<Process> processes = new ArrayList<>();
        Map<String, String> common =
                ServiceProcess.settings(broker.bootstrapServers(), SUFFIX, Map.of("vision.kafka.partitions", "4"));
        try {
            Path media = Path.of("target/it-media").toAbsolutePath();
            Files.createDirectories(media);
            Path longVideo = media.resolve("six-minutes.mp4");
            if (!Files.exists(longVideo)) {
                SyntheticVideos.write(longVideo, SyntheticVideos.Container.MP4, 160, 120, 25, 360, 2);
            }
            processes.add(start("../preprocess", common, preprocess(models, media, 1), "videos-preprocess"));
            Map<String, String> scoring = ThreeServices.scoring(models, "it-videos", 18116, 18113);
            scoring.put("quarkus.http.port", "18112");
            processes.add(start("../scoring", common, scoring, "videos-scoring"));
            for (int i = 0; i < 2; i++) {
                int http = 18120 + i;
                processes.add(start(
                        ".",
                        common,
                        Map.of(
                                "vision.captioning.models-dir",
                                models.toString(),
                                "vision.captioning.kafka.group-id",
                                "it-videos-captioning",
                                "vision.captioning.kafka.transactional-id",
                                "it-videos-captioning-" + i,
                                "quarkus.kafka-streams.application-id",
                                "it-videos-results",
                                "quarkus.kafka-streams.application-server",
                                "localhost:" + http,
                                "kafka-streams.state.dir",
                                Files.createTempDirectory("video-it-state-" + i).toString(),
                                "quarkus.http.port",
                                Integer.toString(http),
                                "quarkus.management.port",
                                Integer.toString(18140 + i),
                                "quarkus.grpc.server.port",
                                Integer.toString(18130 + i),
                                "quarkus.grpc.clients.scoring.port",
                                "18113"),
                        "videos-captioning-" + i));
            }
            for (int port : new int[] {18111, 18116, 18140, 18141}) {
                awaitReady(port);
            }
            try (TopicCollector summaries =
                            broker.collect(topics.videoSummaries().name());
                    TopicCollector deadLetters =
                            broker.collect(topics.deadLetters().name());
                    KafkaProducer<byte[], byte[]> producer = broker.producer()) {
                byte[] video = Files.readAllBytes(root.resolve("samples/video.mp4"));
                send(
                        producer,
                        topics,
                        VideoRequest.newBuilder()
                                .setVideoId("sample-1")
                                .setVideo(ByteString.copyFrom(video))
                                .setEveryNFrames(EVERY)
                                .build());
                byte[] broken =
                        Files.readAllBytes(Path.of("../preprocess/src/test/resources/bad-inputs/broken-moov.mp4"));
                send(
                        producer,
                        topics,
                        VideoRequest.newBuilder()
                                .setVideoId("broken-1")
                                .setVideo(ByteString.copyFrom(broken))
                                .setEveryNFrames(EVERY)
                                .build());

                VideoSummary sample;
                try (TopicCollector scores = broker.collect(topics.scores().name())) {
                    try {
                        sample = awaitFinal(summaries, "sample-1");
                    } catch (AssertionError e) {
                        throw new AssertionError(
                                e.getMessage()
                                        + " ("
                                        + scores.records().size()
                                        + " scores, "
                                        + summaries.records().size()
                                        + " summaries, "
                                        + deadLetters.records().size()
                                        + " dead letters seen)",
                                e);
                    }
                }
                System.out.printf(
                        "[video IT] sample-1: %s, %d of %d frames, %d segments, processed in %d ms%n",
                        sample.getState(),
                        sample.getTimelines(0).getFramesScored(),
                        sample.getFramesSampled(),
                        sample.getTimelines(0).getSegmentsCount(),
                        sample.getProcessingMs());
                assertEquals(VideoSummary.State.COMPLETE, sample.getState());
                assertEquals(100, sample.getFramesSampled());
                assertEquals(
                        500, sample.getFramesDecoded() + sample.getFramesSkipped(), "every frame decoded or skipped");
                assertTrue(
                        sample.getFramesSkipped() > 0,
                        "the sample's B-frames that every 5th frame does not need are skipped: " + sample);
                ScheduleCheck.assertMatches(
                        root.resolve("samples/video-schedule.json"),
                        EVERY,
                        sample.getTimelines(0).getSegmentsList());
                long finals = summaries.records().stream()
                        .filter(r -> "sample-1".equals(new String(r.key(), StandardCharsets.UTF_8)))
                        .filter(r -> parse(r).getFinal())
                        .count();
                assertEquals(1, finals, "one final summary");

                VideoSummary failed = awaitFinal(summaries, "broken-1");
                assertEquals(VideoSummary.State.FAILED, failed.getState());
                assertEquals(ReasonCode.VIDEO_DECODE_FAILED, failed.getFailureReason());
                assertEquals(0, failed.getFramesSampled(), "no frame could be read");
                assertTrue(failed.getFailureMessage().length() > 0);
                assertTrue(
                        deadLetters.records().stream()
                                .map(VideoPipelineProcessIT::deadLetter)
                                .anyMatch(d -> d.getRequestId().equals("broken-1")
                                        && d.getReason() == ReasonCode.VIDEO_DECODE_FAILED),
                        "dead letter of broken-1");

                // Either instance answers; exactly one holds the video in its own store.
                HttpClient http = HttpClient.newHttpClient();
                int localHits = 0;
                for (int port : new int[] {18120, 18121}) {
                    VideoSummary viaRest = VideoSummary.parseFrom(http.send(
                                    HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/videos/sample-1"))
                                            .header("Accept", "application/x-protobuf")
                                            .build(),
                                    HttpResponse.BodyHandlers.ofByteArray())
                            .body());
                    assertEquals(
                            sample.getTimelines(0).getSegmentsList(),
                            viaRest.getTimelines(0).getSegmentsList());
                    assertEquals(VideoSummary.State.COMPLETE, viaRest.getState());
                    assertFalse(viaRest.getStale(), "the owner answers while it runs");
                    assertTrue(viaRest.getServedBy().startsWith("localhost:1812"), viaRest.getServedBy());
                    String json = http.send(
                                    HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/videos/sample-1"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .body();
                    assertTrue(json.contains("\"state\": \"COMPLETE\""), json);
                    localHits += http.send(
                                                    HttpRequest.newBuilder(URI.create("http://localhost:"
                                                                    + port
                                                                    + "/videos/sample-1?local=true"))
                                                            .build(),
                                                    HttpResponse.BodyHandlers.ofString())
                                            .statusCode()
                                    == 200
                            ? 1
                            : 0;
                    assertEquals(
                            404,
                            http.send(
                                            HttpRequest.newBuilder(URI.create(
                                                            "http://localhost:" + port + "/videos/no-such-video"))
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .statusCode());
                    ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port + 10)
                            .usePlaintext()
                            .build();
                    try {
                        VideoSummary viaGrpc = CaptioningServiceGrpc.newBlockingStub(channel)
                                .getVideoSummary(GetVideoSummaryRequest.newBuilder()
                                        .setVideoId("sample-1")
                                        .build())
                                .getSummary();
                        assertEquals(
                                sample.getTimelines(0).getSegmentsList(),
                                viaGrpc.getTimelines(0).getSegmentsList());
                    } finally {
                        channel.shutdownNow();
                    }
                }
                assertEquals(1, localHits, "exactly one instance owns the video");

                headersReachEveryOutputTopic(broker, topics, root, producer);

                longVideoWhileImagesFlowThenOnTwoPreprocessInstances(
                        broker, topics, models, media, longVideo, summaries, producer, processes);
            }
        } finally {
            for (Process p : processes) {
                p.destroy();
            }
            for (Process p : processes) {
                p.waitFor();
            }
        }
    }

    /**
     * Every stage passes the request id and trace context on: an image, an unreadable image and a
     * video sent with {@code x-request-id} and {@code traceparent} headers find them on every
     * record they cause, on every output topic.
     */
    private static void headersReachEveryOutputTopic(
            TestBroker broker, Topics topics, Path root, KafkaProducer<byte[], byte[]> producer) throws Exception {
        Map<String, String> traces = Map.of(
                "hdr-img", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba90201-01",
                "hdr-bad", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba90202-01",
                "hdr-video", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba90203-01");
        List<Topic<?>> outputs = List.of(
                topics.tensors("fashion-cnn"),
                topics.tensors("caption-encoder"),
                topics.scores(),
                topics.features(),
                topics.captions(),
                topics.results(),
                topics.videoSegments(),
                topics.videoEvents(),
                topics.videoSummaries(),
                topics.deadLetters());
        Map<String, TopicCollector> collectors = new HashMap<>();
        try {
            for (Topic<?> topic : outputs) {
                collectors.put(topic.name(), broker.collect(topic.name()));
            }
            byte[] image = Files.readAllBytes(root.resolve("samples/items/" + firstSampleItem(root)));
            sendWithHeaders(
                    producer,
                    topics.images().name(),
                    "hdr-img",
                    ImageRequest.newBuilder()
                            .setRequestId("hdr-img")
                            .setImage(ByteString.copyFrom(image))
                            .build()
                            .toByteArray(),
                    traces);
            sendWithHeaders(
                    producer,
                    topics.images().name(),
                    "hdr-bad",
                    ImageRequest.newBuilder()
                            .setRequestId("hdr-bad")
                            .setImage(ByteString.copyFromUtf8("not an image"))
                            .build()
                            .toByteArray(),
                    traces);
            sendWithHeaders(
                    producer,
                    topics.videos().name(),
                    "hdr-video",
                    VideoRequest.newBuilder()
                            .setVideoId("hdr-video")
                            .setVideo(ByteString.copyFrom(Files.readAllBytes(root.resolve("samples/video.mp4"))))
                            .setEveryNFrames(EVERY)
                            .build()
                            .toByteArray(),
                    traces);
            TopicCollector summaries = collectors.get(topics.videoSummaries().name());
            awaitFinal(summaries, "hdr-video");
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (ours(collectors.get(topics.results().name()), "hdr-img").isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            for (Topic<?> topic : outputs) {
                List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
                traces.keySet().forEach(id -> records.addAll(ours(collectors.get(topic.name()), id)));
                assertTrue(!records.isEmpty(), "records of the test's requests on " + topic.name());
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    String key = new String(record.key(), StandardCharsets.UTF_8);
                    String id = key.startsWith("hdr-video") ? "hdr-video" : key;
                    assertEquals(
                            traces.get(id),
                            RecordHeaders.text(record.headers(), RecordHeaders.TRACEPARENT),
                            "traceparent of " + key + " on " + topic.name());
                    assertEquals(
                            id,
                            RecordHeaders.text(record.headers(), RecordHeaders.REQUEST_ID),
                            "x-request-id of " + key + " on " + topic.name());
                }
                System.out.printf(
                        "[video IT] %-40s %3d record(s) of the test's requests, all with both headers%n",
                        topic.name(), records.size());
            }
        } finally {
            collectors.values().forEach(TopicCollector::close);
        }
    }

    private static String firstSampleItem(Path root) throws Exception {
        try (var files = Files.list(root.resolve("samples/items"))) {
            return files.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".png"))
                    .sorted()
                    .findFirst()
                    .orElseThrow();
        }
    }

    private static void sendWithHeaders(
            KafkaProducer<byte[], byte[]> producer, String topic, String id, byte[] value, Map<String, String> traces)
            throws Exception {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), value);
        RecordHeaders.put(record.headers(), RecordHeaders.REQUEST_ID, id);
        RecordHeaders.put(record.headers(), RecordHeaders.TRACEPARENT, traces.get(id));
        producer.send(record).get();
    }

    /** Records keyed by the request ({@code id}) or, for a video, by it or one of its segments. */
    private static List<ConsumerRecord<byte[], byte[]>> ours(TopicCollector collector, String id) {
        return collector.records().stream()
                .filter(r -> r.key() != null)
                .filter(r -> {
                    String key = new String(r.key(), StandardCharsets.UTF_8);
                    return key.equals(id) || key.startsWith(id + "/");
                })
                .toList();
    }

    private static Map<String, String> preprocess(Path models, Path media, int instance) {
        return Map.of(
                "vision.preprocess.models-dir",
                models.toString(),
                "quarkus.http.port",
                Integer.toString(instance == 1 ? 18111 : 18114),
                "quarkus.kafka-streams.application-id",
                "it-videos-preprocess",
                "vision.preprocess.video.segment-seconds",
                "5",
                "vision.preprocess.video.sources.file-roots",
                media.toString(),
                "vision.preprocess.video.kafka.transactional-id",
                "it-videos-preprocess-" + instance);
    }

    /**
     * A 6-minute video written at test time, by file URI at 1 fps (72 segments of 5 s): COMPLETE
     * with every sampled frame once while images sent meanwhile get their results; then the same
     * video again with a second preprocess instance: both instances decode segments of it, and the
     * timeline is the same.
     */
    private void longVideoWhileImagesFlowThenOnTwoPreprocessInstances(
            TestBroker broker,
            Topics topics,
            Path models,
            Path media,
            Path longVideo,
            TopicCollector summaries,
            KafkaProducer<byte[], byte[]> producer,
            List<Process> processes)
            throws Exception {
        try (TopicCollector results = broker.collect(topics.results().name())) {
            send(
                    producer,
                    topics,
                    VideoRequest.newBuilder()
                            .setVideoId("long-1")
                            .setUri(longVideo.toUri().toString())
                            .setTargetFps(1)
                            .build());
            List<Path> items;
            try (var files = Files.list(Path.of("../../samples/items"))) {
                items = files.filter(f ->
                                f.toString().endsWith(".png") || f.toString().endsWith(".jpg"))
                        .sorted()
                        .toList();
            }
            for (Path item : items) {
                producer.send(PipelineRequests.image(topics, "during-long-" + item.getFileName(), item))
                        .get();
            }
            VideoSummary first = awaitFinal(summaries, "long-1");
            long seen = summaries.records().stream()
                    .filter(r -> "long-1".equals(new String(r.key(), StandardCharsets.UTF_8)))
                    .count();
            System.out.printf(
                    "[video IT] long-1: %s, %d of %d frames, %d label segments, %d summary records%n",
                    first.getState(),
                    first.getTimelines(0).getFramesScored(),
                    first.getFramesSampled(),
                    first.getTimelines(0).getSegmentsCount(),
                    seen);
            assertEquals(VideoSummary.State.COMPLETE, first.getState());
            assertEquals(360, first.getFramesSampled(), "1 fps over 6 minutes");
            assertEquals(360, first.getTimelines(0).getFramesScored(), "every sampled frame scored once");
            results.awaitAtLeast(items.size(), Duration.ofSeconds(120));
            Set<String> answered = new HashSet<>();
            results.records().forEach(r -> answered.add(new String(r.key(), StandardCharsets.UTF_8)));
            for (Path item : items) {
                assertTrue(
                        answered.contains("during-long-" + item.getFileName()),
                        "image sent during the long video has a result: " + item.getFileName());
            }
        }

        processes.add(start(
                "../preprocess",
                ServiceProcess.settings(broker.bootstrapServers(), SUFFIX, Map.of("vision.kafka.partitions", "4")),
                preprocess(models, media, 2),
                "videos-preprocess-2"));
        awaitReady(18114);
        ServiceProcess.awaitReadinessValues("segments-partitions", Duration.ofSeconds(60), 18111, 18114);
        long before1 = ServiceProcess.readinessValue(18111, "segments-transactions");
        send(
                producer,
                topics,
                VideoRequest.newBuilder()
                        .setVideoId("long-2")
                        .setUri(longVideo.toUri().toString())
                        .setTargetFps(1)
                        .build());
        VideoSummary second = awaitFinal(summaries, "long-2");
        long by1 = ServiceProcess.readinessValue(18111, "segments-transactions") - before1;
        long by2 = ServiceProcess.readinessValue(18114, "segments-transactions");
        System.out.printf("[video IT] long-2 on two preprocess instances: %d and %d of 72 segments%n", by1, by2);
        assertTrue(by1 > 0 && by2 > 0, "both instances decoded segments of the video: " + by1 + " and " + by2);
        assertEquals(VideoSummary.State.COMPLETE, second.getState());
        VideoSummary first = awaitFinal(summaries, "long-1");
        assertEquals(first.getFramesSampled(), second.getFramesSampled());
        assertEquals(
                first.getTimelines(0).getSegmentsList(),
                second.getTimelines(0).getSegmentsList(),
                "the same timeline as with one instance");
    }

    private static Process start(String module, Map<String, String> common, Map<String, String> own, String log)
            throws Exception {
        Map<String, String> properties = new HashMap<>(common);
        properties.putAll(own);
        return ServiceProcess.start(module, properties, Path.of("target/" + log + ".log"));
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, Topics topics, VideoRequest request)
            throws Exception {
        producer.send(new ProducerRecord<>(
                        topics.videos().name(),
                        request.getVideoId().getBytes(StandardCharsets.UTF_8),
                        request.toByteArray()))
                .get();
    }

    private static VideoSummary parse(ConsumerRecord<byte[], byte[]> record) {
        try {
            return VideoSummary.parseFrom(record.value());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static DeadLetter deadLetter(ConsumerRecord<byte[], byte[]> record) {
        try {
            return DeadLetter.parseFrom(record.value());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static VideoSummary awaitFinal(TopicCollector summaries, String videoId) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<VideoSummary> done = summaries.records().stream()
                    .filter(r -> videoId.equals(new String(r.key(), StandardCharsets.UTF_8)))
                    .map(VideoPipelineProcessIT::parse)
                    .filter(VideoSummary::getFinal)
                    .findFirst();
            if (done.isPresent()) {
                return done.get();
            }
            Thread.sleep(250);
        }
        throw new AssertionError("no final summary of " + videoId + " within 240 s");
    }

    private static void awaitReady(int port) throws Exception {
        ServiceProcess.awaitReady(port, Duration.ofSeconds(180));
    }
}
