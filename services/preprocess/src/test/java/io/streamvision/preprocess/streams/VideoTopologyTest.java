package io.streamvision.preprocess.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelCatalog;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.video.VideoLimits;

class VideoTopologyTest {

    static final Path VIDEO = Path.of("../../samples/video.mp4");
    private final Topics topics = new Topics("");
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> videos;
    private TestOutputTopic<byte[], byte[]> tensors;
    private TestOutputTopic<byte[], byte[]> events;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeEach
    void setUp() {
        ModelCatalog catalog = new ModelCatalog(new ModelRepository(Path.of("src/test/resources/model-repo")),
                Duration.ofMinutes(1));
        DeadLetters letters = new DeadLetters(topics.deadLetters(), 1024);
        ImagePreparation images = new ImagePreparation(topics, letters, catalog,
                new ImageDecoder(ImageLimits.DEFAULT, 0), List.of("tiny-gray"), true);
        VideoPreparation video = new VideoPreparation(topics, letters, catalog, VideoLimits.DEFAULT, List.of("tiny-gray"),
                true);
        StreamsBuilder builder = new StreamsBuilder();
        PreprocessTopology.build(builder, topics, images, video);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "video-topology-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(builder.build(), props);
        videos = driver.createInputTopic(topics.videos(), new ByteArraySerializer(), new ByteArraySerializer());
        tensors = driver.createOutputTopic(topics.tensors("tiny-gray"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        events = driver.createOutputTopic(topics.videoEvents(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(topics.deadLetters(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    @Test
    void samplesFramesIntoTensorsKeyedByVideoThenSaysHowMany() throws Exception {
        VideoRequest request = VideoRequest.newBuilder().setVideoId("v-1").setUri(VIDEO.toAbsolutePath().toUri().toString())
                .setTargetFps(1.0).build();
        videos.pipeInput("v-1".getBytes(StandardCharsets.UTF_8), request.toByteArray());
        List<TestRecord<byte[], byte[]>> frames = tensors.readRecordsToList();
        assertEquals(20, frames.size(), "one frame per second of a 20 s video");
        ModelInferRequest third = ModelInferRequest.parseFrom(frames.get(2).value());
        assertEquals("v-1", new String(frames.get(2).key(), StandardCharsets.UTF_8), "frames are keyed by video id");
        assertEquals("v-1/50", third.getId());
        assertEquals(50, third.getParametersOrThrow("frame_index").getInt64Param());
        assertEquals(2000, third.getParametersOrThrow("pts_ms").getInt64Param());
        assertEquals(List.of(1L, 1L, 28L, 28L), third.getInputs(0).getShapeList());
        VideoSampled done = VideoSampled.parseFrom(events.readValue());
        assertEquals(20, done.getFramesSampled());
        assertEquals(500, done.getFramesDecoded());
        assertTrue(deadLetters.isEmpty());
    }

    @Test
    void brokenVideosAndBadRequestsBecomeOneDeadLetterAndOneFailedEventEach() throws Exception {
        byte[] broken = Files.readAllBytes(Path.of("src/test/resources/bad-inputs/broken-moov.mp4"));
        videos.pipeInput("b-1".getBytes(StandardCharsets.UTF_8),
                VideoRequest.newBuilder().setVideo(ByteString.copyFrom(broken)).build().toByteArray());
        assertEquals(ReasonCode.VIDEO_DECODE_FAILED, DeadLetter.parseFrom(deadLetters.readValue()).getReason());
        assertFailedEvent("b-1", ReasonCode.VIDEO_DECODE_FAILED);

        videos.pipeInput("b-2".getBytes(StandardCharsets.UTF_8), VideoRequest.newBuilder().build().toByteArray());
        assertEquals(ReasonCode.BAD_REQUEST, DeadLetter.parseFrom(deadLetters.readValue()).getReason());
        assertFailedEvent("b-2", ReasonCode.BAD_REQUEST);

        // Not a request at all: there is no video to report on, only the dead letter.
        videos.pipeInput("b-3".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xFF, 1, 2});
        assertEquals(ReasonCode.DESERIALIZATION_FAILED, DeadLetter.parseFrom(deadLetters.readValue()).getReason());
        assertTrue(events.isEmpty());

        videos.pipeInput("b-4".getBytes(StandardCharsets.UTF_8), VideoRequest.newBuilder()
                .setUri(VIDEO.toAbsolutePath().toUri().toString()).addModels("nope").build().toByteArray());
        assertEquals(ReasonCode.UNKNOWN_MODEL, DeadLetter.parseFrom(deadLetters.readValue()).getReason());
        assertFailedEvent("b-4", ReasonCode.UNKNOWN_MODEL);
        assertTrue(deadLetters.isEmpty() && tensors.isEmpty() && events.isEmpty());
    }

    private void assertFailedEvent(String videoId, ReasonCode reason) throws Exception {
        var record = events.readRecord();
        VideoSampled event = VideoSampled.parseFrom(record.value());
        assertEquals(videoId, new String(record.key(), StandardCharsets.UTF_8));
        assertEquals(videoId, event.getVideoId());
        assertTrue(event.getFailed(), "failed flag");
        assertEquals(reason, event.getFailureReason());
        assertEquals(0, event.getFramesSampled());
        assertFalse(event.getFailureMessage().isEmpty());
    }
}
