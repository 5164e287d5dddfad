package io.streamvision.captioning.videos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Random;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.streamvision.captioning.streams.ResultsTopology;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;
import io.streamvision.runtime.Classifications;
import io.streamvision.runtime.ExecutionSettings;
import io.streamvision.runtime.InferenceEngine;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.OnnxRuntime;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoLimits;

/**
 * The video-summary topology on real frame scores: the sample MP4 decoded every 5th frame and
 * classified with fashion-cnn (the same library code the services run), fed in shuffled order
 * and interleaved with another video.
 */
class VideoSummaryTopologyTest {

    private static final Path ROOT = Path.of(System.getProperty("vision.models.dir", "../../models")).getParent();
    private static final int EVERY = 5;
    private static List<Classification> frames;
    private static VideoSampled end;

    private final Topics topics = new Topics("");
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> scores;
    private TestInputTopic<byte[], byte[]> events;
    private TestOutputTopic<String, byte[]> summaries;
    private TestOutputTopic<String, byte[]> results;

    /** Scores every 5th frame of samples/video.mp4 with fashion-cnn, as the pipeline would. */
    @BeforeAll
    static void scoreSampleVideo() throws Exception {
        ModelRepository repository = new ModelRepository(ROOT.resolve("models"));
        OnnxRuntime runtime = new OnnxRuntime(repository, ExecutionSettings.CPU);
        ModelConfig config = repository.latest("fashion-cnn").orElseThrow();
        LoadedModel model = runtime.load("fashion-cnn", config.version());
        InferenceEngine engine = new InferenceEngine(runtime);
        List<ModelInferRequest> requests = new ArrayList<>();
        List<long[]> positions = new ArrayList<>();
        VideoFrameReader.Summary summary = new VideoFrameReader(VideoLimits.DEFAULT).read(
                ROOT.resolve("samples/video.mp4").toUri().toString(), new byte[0], EVERY, 0, frame -> {
                    requests.add(TensorPreparer.prepare(frame.image(), config.imageInput(), false)
                            .toInferRequest("sample/" + frame.frameIndex(), config).build());
                    positions.add(new long[] {frame.frameIndex(), frame.ptsMillis()});
                });
        List<Classification> out = new ArrayList<>();
        List<InferenceEngine.Outcome> outcomes = engine.infer(model, requests);
        for (int i = 0; i < outcomes.size(); i++) {
            out.add(Classifications.fromResponse(config, outcomes.get(i).response(), 3).toBuilder()
                    .setRequestId("sample/" + positions.get(i)[0]).setVideoId("sample")
                    .setFrameIndex(positions.get(i)[0]).setPtsMs(positions.get(i)[1]).build());
        }
        model.release();
        frames = out;
        end = VideoSampled.newBuilder().setVideoId("sample").setFramesSampled(summary.framesSampled())
                .setFramesDecoded(summary.framesDecoded()).setDurationMs(summary.durationMillis())
                .setFrameRate(summary.frameRate()).addModels("fashion-cnn").build();
    }

    @BeforeEach
    void setUp() {
        StreamsBuilder builder = new StreamsBuilder();
        var source = ResultsTopology.scoresSource(builder, topics);
        ResultsTopology.build(builder, source, topics, new DeadLetters(topics.deadLetters(), 1024),
                java.util.Set.of("fashion-cnn"), Duration.ofSeconds(30), Duration.ofSeconds(1));
        VideoSummaryTopology.build(builder, source, topics, new VideoSummaryTopology.Settings(40,
                Duration.ofSeconds(60), Duration.ofHours(1), Duration.ofSeconds(1)));
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "videos-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(builder.build(), props, Instant.ofEpochMilli(1_000_000));
        scores = driver.createInputTopic(topics.scores(), new ByteArraySerializer(), new ByteArraySerializer());
        events = driver.createInputTopic(topics.videoEvents(), new ByteArraySerializer(), new ByteArraySerializer());
        summaries = driver.createOutputTopic(topics.videoSummaries(), new StringDeserializer(),
                new ByteArrayDeserializer());
        results = driver.createOutputTopic(topics.results(), new StringDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    private void pipe(Classification c) {
        scores.pipeInput(c.getRequestId().getBytes(StandardCharsets.UTF_8), c.toByteArray());
    }

    private void pipe(VideoSampled e) {
        events.pipeInput(e.getVideoId().getBytes(StandardCharsets.UTF_8), e.toByteArray());
    }

    private List<VideoSummary> summariesOf(String videoId) throws Exception {
        List<VideoSummary> out = new ArrayList<>();
        for (var r : summaries.readRecordsToList()) {
            if (r.key().equals(videoId)) {
                out.add(VideoSummary.parseFrom(r.value()));
            }
        }
        return out;
    }

    private static Classification copy(Classification c, String videoId) {
        return c.toBuilder().setVideoId(videoId).setRequestId(videoId + "/" + c.getFrameIndex()).build();
    }

    @Test
    void timelineOfTheSampleVideoMatchesItsScheduleWithinOneSamplingInterval() throws Exception {
        List<Classification> shuffled = new ArrayList<>(frames);
        Collections.shuffle(shuffled, new Random(7));
        List<Classification> other = frames.subList(0, 30).stream().map(c -> copy(c, "other")).toList();
        pipe(end);   // the end-of-video event may come before the last frames
        for (int i = 0; i < shuffled.size(); i++) {
            pipe(shuffled.get(i));
            if (i < other.size()) {
                pipe(other.get(i));
            }
            if (i == 10) {
                pipe(shuffled.get(3));   // a repeated frame counts once
            }
        }
        List<VideoSummary> all = summariesOf("sample");
        List<VideoSummary> finals = all.stream().filter(VideoSummary::getFinal).toList();
        assertEquals(1, finals.size(), "exactly one final summary");
        assertTrue(all.size() > 1 && !all.get(0).getFinal(), "progress updates before the final summary");
        VideoSummary summary = finals.get(0);
        assertEquals(VideoSummary.State.COMPLETE, summary.getState());
        assertEquals(frames.size(), summary.getTimelines(0).getFramesScored());
        assertEquals(end.getFramesSampled(), summary.getFramesSampled());

        ScheduleCheck.assertMatches(ROOT.resolve("samples/video-schedule.json"), EVERY,
                summary.getTimelines(0).getSegmentsList());
        // Frame scores never become image results.
        assertTrue(results.isEmpty());
        // Parts arriving after the final summary change nothing.
        pipe(frames.get(0));
        pipe(end);
        assertTrue(summariesOf("sample").isEmpty());
        // The interleaved video is still open (no end event): progress only.
        assertTrue(summariesOf("other").stream().noneMatch(VideoSummary::getFinal));
    }

    @Test
    void videoThatFailsPartWaySaysSoAndHowFarItGot() throws Exception {
        List<Classification> firstTwenty = frames.subList(0, 20).stream().map(c -> copy(c, "broken")).toList();
        firstTwenty.forEach(this::pipe);
        pipe(VideoSampled.newBuilder().setVideoId("broken").setFramesSampled(20).addModels("fashion-cnn")
                .setFailed(true).setFailureReason(ReasonCode.VIDEO_DECODE_FAILED)
                .setFailureMessage("corrupt packet (20 frames were sampled before the failure)").build());
        List<VideoSummary> finals = summariesOf("broken").stream().filter(VideoSummary::getFinal).toList();
        assertEquals(1, finals.size());
        VideoSummary summary = finals.get(0);
        assertEquals(VideoSummary.State.FAILED, summary.getState());
        assertEquals(ReasonCode.VIDEO_DECODE_FAILED, summary.getFailureReason());
        assertEquals(20, summary.getFramesSampled());
        assertEquals(20, summary.getTimelines(0).getFramesScored());
        assertFalse(summary.getTimelines(0).getSegmentsList().isEmpty());
    }

    @Test
    void videoWhoseFramesStopArrivingEndsAsFailedAfterTheStallTimeout() throws Exception {
        frames.subList(0, 10).stream().map(c -> copy(c, "stalled")).forEach(this::pipe);
        pipe(end.toBuilder().setVideoId("stalled").build());
        driver.advanceWallClockTime(Duration.ofSeconds(30));
        assertTrue(summariesOf("stalled").stream().noneMatch(VideoSummary::getFinal));
        driver.advanceWallClockTime(Duration.ofSeconds(61));
        List<VideoSummary> finals = summariesOf("stalled").stream().filter(VideoSummary::getFinal).toList();
        assertEquals(1, finals.size());
        assertEquals(VideoSummary.State.FAILED, finals.get(0).getState());
        assertTrue(finals.get(0).getFailureMessage().contains("were not scored"), finals.get(0).getFailureMessage());
        assertEquals(10, finals.get(0).getTimelines(0).getFramesScored());
    }

}
