package io.streamvision.preprocess.videos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelCatalog;
import io.streamvision.model.ModelRepository;
import io.streamvision.preprocess.ImageModels;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSegment;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoLimits;
import io.streamvision.video.VideoSources;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The planner and the segment decoder on the sample video (20 s, 25 fps) and on bad requests,
 * without a broker: what each writes for one input record.
 */
class VideoPlanningTest {

    private static final Path SAMPLE =
            Path.of("../../samples/video.mp4").toAbsolutePath().normalize();
    private static final Path BAD = Path.of("src/test/resources/bad-inputs");

    private final Topics topics = new Topics("");
    private final DeadLetters deadLetters = new DeadLetters(topics.deadLetters(), 1024);
    private final ImageModels models = new ImageModels(
            new ModelCatalog(new ModelRepository(Path.of("src/test/resources/model-repo")), Duration.ofSeconds(30)),
            List.of("tiny-gray"),
            true);
    private final VideoLimits limits = new VideoLimits(86_400, 4096, 2160, 100_000, 8 << 20);
    private final VideoFrameReader reader = new VideoFrameReader(limits, 1, VideoFrameReader.DEFAULT_FORMATS);
    private final VideoSources sources = new VideoSources(List.of(SAMPLE.getParent()), List.of(), 3);

    @TempDir
    Path work;

    private VideoPlanner planner(VideoLimits limits, long segmentMs) {
        return new VideoPlanner(
                new VideoStage(
                        topics,
                        deadLetters,
                        models,
                        sources,
                        new VideoFrameReader(limits, 1, VideoFrameReader.DEFAULT_FORMATS)),
                segmentMs,
                work);
    }

    private SegmentDecoder decoder() {
        Properties client = new Properties();
        client.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "localhost:1");
        return new SegmentDecoder(
                new VideoStage(topics, deadLetters, models, sources, reader),
                new InlineVideos(client, reader, work, Duration.ofSeconds(1)));
    }

    private static ConsumerRecord<byte[], byte[]> record(String topic, String key, byte[] value) {
        return new ConsumerRecord<>(topic, 0, 7, key.getBytes(StandardCharsets.UTF_8), value);
    }

    private List<ProducerRecord<byte[], byte[]>> plan(VideoPlanner planner, VideoRequest request) {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        planner.plan(record(topics.videos().name(), request.getVideoId(), request.toByteArray()), out);
        return out;
    }

    private static List<VideoSegment> segments(List<ProducerRecord<byte[], byte[]>> out, Topics topics)
            throws Exception {
        List<VideoSegment> list = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> r : out) {
            if (r.topic().equals(topics.videoSegments().name())) {
                list.add(VideoSegment.parseFrom(r.value()));
            }
        }
        return list;
    }

    private static VideoSampled onlyEvent(List<ProducerRecord<byte[], byte[]>> out, Topics topics) throws Exception {
        List<ProducerRecord<byte[], byte[]>> events = out.stream()
                .filter(r -> r.topic().equals(topics.videoEvents().name()))
                .toList();
        assertEquals(1, events.size());
        return VideoSampled.parseFrom(events.get(0).value());
    }

    private static DeadLetter onlyDeadLetter(List<ProducerRecord<byte[], byte[]>> out, Topics topics) throws Exception {
        List<ProducerRecord<byte[], byte[]>> letters = out.stream()
                .filter(r -> r.topic().equals(topics.deadLetters().name()))
                .toList();
        assertEquals(1, letters.size(), "exactly one dead letter");
        return DeadLetter.parseFrom(letters.get(0).value());
    }

    @Test
    void plansOneSegmentPerIntervalKeyedToSpreadOverPartitions() throws Exception {
        List<ProducerRecord<byte[], byte[]>> out = plan(
                planner(limits, 6_000),
                VideoRequest.newBuilder()
                        .setVideoId("v1")
                        .setUri(SAMPLE.toUri().toString())
                        .setEveryNFrames(5)
                        .build());
        List<VideoSegment> segments = segments(out, topics);
        assertEquals(4, segments.size(), "20 s in 6 s segments");
        assertEquals(out.size(), segments.size(), "nothing but segments");
        for (int i = 0; i < 4; i++) {
            assertEquals(i, segments.get(i).getIndex());
            assertEquals(i * 6_000L, segments.get(i).getStartMs());
            assertEquals((i + 1) * 6_000L, segments.get(i).getEndMs());
            assertEquals(i == 3, segments.get(i).getLastPlanned());
            assertEquals("v1/" + i, new String(out.get(i).key(), StandardCharsets.UTF_8));
        }
        assertEquals(List.of("tiny-gray"), segments.get(0).getModelsList());
        assertEquals(25.0, segments.get(0).getFrameRate(), 0.01);
        assertEquals(SAMPLE.toUri().toString(), segments.get(0).getRequest().getUri());
    }

    @Test
    void inlineVideoSegmentsReferToTheRequestRecordInsteadOfCopyingTheBytes() throws Exception {
        List<ProducerRecord<byte[], byte[]>> out = plan(
                planner(limits, 30_000),
                VideoRequest.newBuilder()
                        .setVideoId("v2")
                        .setVideo(ByteString.copyFrom(Files.readAllBytes(SAMPLE)))
                        .build());
        VideoSegment only = segments(out, topics).get(0);
        assertTrue(only.getRequest().getVideo().isEmpty());
        assertEquals(topics.videos().name(), only.getInlineSource().getTopic());
        assertEquals(7, only.getInlineSource().getOffset());
        assertTrue(out.get(0).value().length < 1000, "a segment record is small");
    }

    @Test
    void refusesVideosItMustNotOpenOrCannotHandleWithOneDeadLetterAndAFailedEvent() throws Exception {
        record Case(VideoRequest request, VideoLimits limits, ReasonCode reason) {}
        VideoLimits short5s = new VideoLimits(5, 4096, 2160, 100_000, 8 << 20);
        VideoLimits fewFrames = new VideoLimits(86_400, 4096, 2160, 50, 8 << 20);
        VideoLimits smallFrames = new VideoLimits(86_400, 160, 120, 100_000, 8 << 20);
        byte[] broken = Files.readAllBytes(BAD.resolve("broken-moov.mp4"));
        List<Case> cases = List.of(
                new Case(
                        VideoRequest.newBuilder().setUri("file:/etc/passwd").build(),
                        limits,
                        ReasonCode.SOURCE_NOT_ALLOWED),
                new Case(
                        VideoRequest.newBuilder()
                                .setUri(SAMPLE.getParent().toUri() + "../pom.xml")
                                .build(),
                        limits,
                        ReasonCode.SOURCE_NOT_ALLOWED),
                new Case(
                        VideoRequest.newBuilder()
                                .setUri("http://127.0.0.1:9092/")
                                .build(),
                        limits,
                        ReasonCode.SOURCE_NOT_ALLOWED),
                new Case(
                        VideoRequest.newBuilder()
                                .setVideo(ByteString.copyFrom(broken))
                                .build(),
                        limits,
                        ReasonCode.VIDEO_DECODE_FAILED),
                new Case(VideoRequest.newBuilder().build(), limits, ReasonCode.BAD_REQUEST),
                new Case(
                        VideoRequest.newBuilder()
                                .setUri(SAMPLE.toUri().toString())
                                .addModels("no-such-model")
                                .build(),
                        limits,
                        ReasonCode.UNKNOWN_MODEL),
                new Case(
                        VideoRequest.newBuilder()
                                .setUri(SAMPLE.toUri().toString())
                                .build(),
                        short5s,
                        ReasonCode.DIMENSIONS_EXCEEDED),
                new Case(
                        VideoRequest.newBuilder()
                                .setUri(SAMPLE.toUri().toString())
                                .build(),
                        fewFrames,
                        ReasonCode.DIMENSIONS_EXCEEDED),
                new Case(
                        VideoRequest.newBuilder()
                                .setUri(SAMPLE.toUri().toString())
                                .build(),
                        smallFrames,
                        ReasonCode.DIMENSIONS_EXCEEDED));
        for (Case c : cases) {
            VideoRequest request = c.request().toBuilder().setVideoId("bad").build();
            List<ProducerRecord<byte[], byte[]>> out = plan(planner(c.limits(), 30_000), request);
            assertEquals(c.reason(), onlyDeadLetter(out, topics).getReason(), request.getUri());
            VideoSampled failed = onlyEvent(out, topics);
            assertTrue(failed.getFailed() && failed.getFinalSegment());
            assertEquals(c.reason(), failed.getFailureReason());
            assertTrue(segments(out, topics).isEmpty(), "nothing to decode");
        }
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        planner(limits, 30_000).plan(record(topics.videos().name(), "x", "not protobuf".getBytes()), out);
        assertEquals(
                ReasonCode.DESERIALIZATION_FAILED, onlyDeadLetter(out, topics).getReason());
    }

    @Test
    void segmentWritesItsFramesKeyedByVideoIdAndOneEvent() throws Exception {
        VideoSegment segment = VideoSegment.newBuilder()
                .setVideoId("v3")
                .setIndex(1)
                .setStartMs(5_000)
                .setEndMs(10_000)
                .setRequest(VideoRequest.newBuilder()
                        .setUri(SAMPLE.toUri().toString())
                        .setTargetFps(2))
                .addModels("tiny-gray")
                .setFrameRate(25)
                .setDurationMs(20_000)
                .setSegmentMs(5_000)
                .build();
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        decoder().decode(record(topics.videoSegments().name(), "v3/1", segment.toByteArray()), out);
        List<ProducerRecord<byte[], byte[]>> tensors = out.stream()
                .filter(r -> r.topic().equals(topics.tensors("tiny-gray").name()))
                .toList();
        assertEquals(10, tensors.size(), "2 fps over 5 s");
        long previous = -1;
        for (ProducerRecord<byte[], byte[]> t : tensors) {
            assertEquals("v3", new String(t.key(), StandardCharsets.UTF_8));
            ModelInferRequest infer = ModelInferRequest.parseFrom(t.value());
            long pts = infer.getParametersOrThrow("pts_ms").getInt64Param();
            assertTrue(pts >= 5_000 && pts < 10_000, "inside the segment: " + pts);
            assertTrue(pts > previous, "in the frames' order, though tensors are made on another thread");
            previous = pts;
            assertEquals(1, infer.getParametersOrThrow("segment").getInt64Param());
        }
        VideoSampled event = onlyEvent(out, topics);
        assertEquals(topics.videoEvents().name(), out.get(out.size() - 1).topic(), "the event after the frames");
        assertEquals(10, event.getFramesSampled());
        assertEquals(125, event.getFramesDecoded() + event.getFramesSkipped(), "5 s at 25 fps");
        // The sample is H.264 with B-frames: at 2 fps most of them are never needed.
        assertTrue(event.getFramesSkipped() > 25, "unsampled B-frames skipped: " + event.getFramesSkipped());
        assertFalse(event.getFinalSegment());
        assertFalse(event.getFailed());
    }

    @Test
    void lastPlannedSegmentPlansTheNextWhenTheVideoGoesOn() throws Exception {
        VideoSegment segment = VideoSegment.newBuilder()
                .setVideoId("v4")
                .setIndex(1)
                .setStartMs(5_000)
                .setEndMs(10_000)
                .setLastPlanned(true)
                .setRequest(VideoRequest.newBuilder()
                        .setUri(SAMPLE.toUri().toString())
                        .setTargetFps(1))
                .addModels("tiny-gray")
                .setSegmentMs(5_000)
                .build();
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        decoder().decode(record(topics.videoSegments().name(), "v4/1", segment.toByteArray()), out);
        List<VideoSegment> next = segments(out, topics);
        assertEquals(1, next.size());
        assertEquals(2, next.get(0).getIndex());
        assertEquals(10_000, next.get(0).getStartMs());
        assertEquals(15_000, next.get(0).getEndMs());
        assertTrue(next.get(0).getLastPlanned());
        assertFalse(onlyEvent(out, topics).getFinalSegment());

        VideoSegment last = next.get(0).toBuilder()
                .setIndex(3)
                .setStartMs(15_000)
                .setEndMs(20_000)
                .build();
        out.clear();
        decoder().decode(record(topics.videoSegments().name(), "v4/3", last.toByteArray()), out);
        assertTrue(segments(out, topics).isEmpty(), "the stream ends inside this segment");
        assertTrue(onlyEvent(out, topics).getFinalSegment());
    }

    @Test
    void segmentOfARefusedSourceIsDeadLetteredEvenIfThePlanAllowedIt() throws Exception {
        VideoSegment segment = VideoSegment.newBuilder()
                .setVideoId("v5")
                .setIndex(0)
                .setStartMs(0)
                .setEndMs(5_000)
                .setLastPlanned(true)
                .setRequest(VideoRequest.newBuilder().setUri("file:/etc/hostname"))
                .addModels("tiny-gray")
                .setSegmentMs(5_000)
                .build();
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        decoder().decode(record(topics.videoSegments().name(), "v5/0", segment.toByteArray()), out);
        assertEquals(ReasonCode.SOURCE_NOT_ALLOWED, onlyDeadLetter(out, topics).getReason());
        VideoSampled event = onlyEvent(out, topics);
        assertTrue(event.getFailed() && event.getFinalSegment());
    }
}
