package io.streamvision.captioning.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.imaging.TensorPreparer;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.Box;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.proto.vision.v1.FrameScore;
import io.streamvision.proto.vision.v1.Label;
import io.streamvision.proto.vision.v1.LabelSegment;
import io.streamvision.proto.vision.v1.ModelTimeline;
import io.streamvision.proto.vision.v1.ObjectInterval;
import io.streamvision.proto.vision.v1.ObjectTrack;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoAggregate;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;
import io.streamvision.runtime.Classifications;
import io.streamvision.runtime.ExecutionSettings;
import io.streamvision.runtime.InferenceEngine;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ModelLoader;
import io.streamvision.testing.TestModels;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoLimits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The video-summary topology on real frame scores: the sample MP4 decoded every 5th frame and
 * classified with fashion-cnn (the same library code the services run), cut into segments by
 * presentation time with one event per segment, fed in shuffled order and interleaved with another
 * video; and on synthetic scores for the limits (header size, work per frame, timeline size).
 */
class VideoSummaryTopologyTest {

    private static final Path ROOT = TestModels.dir().getParent();
    private static final int EVERY = 5;
    private static final int SEGMENTS = 4;
    private static final String MODEL = "fashion-cnn";
    private static final VideoSummaryTopology.Settings DEFAULTS = new VideoSummaryTopology.Settings(
            40, Duration.ofSeconds(60), Duration.ofHours(1), Duration.ofSeconds(1), 1000);

    private static List<Classification> frames;
    private static VideoFrameReader.Summary decoded;

    private final Topics topics = new Topics("");
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> scores;
    private TestInputTopic<byte[], byte[]> events;
    private TestOutputTopic<String, byte[]> summaries;
    private TestOutputTopic<String, byte[]> results;
    private TestOutputTopic<String, byte[]> deadLetters;

    /** Scores every 5th frame of samples/video.mp4 with fashion-cnn, as the pipeline would. */
    @BeforeAll
    static void scoreSampleVideo() throws Exception {
        ModelRepository repository = new ModelRepository(ROOT.resolve("models"));
        ModelLoader runtime = new ModelLoader(repository, ExecutionSettings.CPU);
        ModelConfig config = repository.latest(MODEL).orElseThrow();
        LoadedModel model = runtime.load(MODEL, config.version());
        InferenceEngine engine = new InferenceEngine(runtime);
        List<ModelInferRequest> requests = new ArrayList<>();
        List<long[]> positions = new ArrayList<>();
        decoded = new VideoFrameReader(VideoLimits.DEFAULT)
                .read(ROOT.resolve("samples/video.mp4").toUri().toString(), new byte[0], EVERY, 0, frame -> {
                    requests.add(TensorPreparer.prepare(frame.image(), config.imageInput(), false)
                            .toInferRequest("sample", config)
                            .build());
                    positions.add(new long[] {frame.frameIndex(), frame.ptsMillis()});
                });
        List<Classification> out = new ArrayList<>();
        List<InferenceEngine.Outcome> outcomes = engine.infer(model, requests);
        for (int i = 0; i < outcomes.size(); i++) {
            out.add(Classifications.fromResponse(
                            config, requests.get(i), outcomes.get(i).response(), 3)
                    .toBuilder()
                    .setRequestId("sample")
                    .setVideoId("sample")
                    .setFrameIndex(positions.get(i)[0])
                    .setPtsMs(positions.get(i)[1])
                    .build());
        }
        model.release();
        frames = out;
    }

    @BeforeEach
    void setUp() {
        start(DEFAULTS);
    }

    private void start(VideoSummaryTopology.Settings settings) {
        if (driver != null) {
            driver.close();
        }
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "videos-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(topology(settings), props, Instant.ofEpochMilli(1_000_000));
        scores = driver.createInputTopic(topics.scores().name(), new ByteArraySerializer(), new ByteArraySerializer());
        events = driver.createInputTopic(
                topics.videoEvents().name(), new ByteArraySerializer(), new ByteArraySerializer());
        summaries = driver.createOutputTopic(
                topics.videoSummaries().name(), new StringDeserializer(), new ByteArrayDeserializer());
        results = driver.createOutputTopic(
                topics.results().name(), new StringDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(
                topics.deadLetters().name(), new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** The results and video topologies on one scores source, as TopologyProducer wires them. */
    private Topology topology(VideoSummaryTopology.Settings settings) {
        StreamsBuilder builder = new StreamsBuilder();
        DeadLetters letters = new DeadLetters(topics.deadLetters(), 1024);
        var source = ResultsTopology.scoresSource(builder, topics);
        ResultsTopology.build(
                builder,
                source,
                topics,
                letters,
                new ResultsTopology.Expected(Set.of(MODEL), Set.of("caption-encoder")),
                Duration.ofSeconds(30),
                Duration.ofSeconds(1),
                PendingResults.Format.V2);
        VideoSummaryTopology.build(builder, source, topics, letters, settings);
        return builder.build();
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    // --- inputs ---------------------------------------------------------------------------------

    /** Frame scores are keyed by video id. */
    private void pipe(Classification c) {
        pipe(c, new RecordHeaders());
    }

    private void pipe(Classification c, Headers headers) {
        scores.pipeInput(new TestRecord<>(c.getVideoId().getBytes(StandardCharsets.UTF_8), c.toByteArray(), headers));
    }

    private void pipe(VideoSampled e) {
        pipe(e, new RecordHeaders());
    }

    private void pipe(VideoSampled e, Headers headers) {
        events.pipeInput(new TestRecord<>(e.getVideoId().getBytes(StandardCharsets.UTF_8), e.toByteArray(), headers));
    }

    private static Classification copy(Classification c, String videoId) {
        return c.toBuilder().setVideoId(videoId).setRequestId(videoId).build();
    }

    private static List<Classification> copies(List<Classification> in, String videoId) {
        return in.stream().map(c -> copy(c, videoId)).toList();
    }

    /**
     * The segment a frame of the sample falls in: SEGMENTS equal stretches of presentation time.
     */
    private static int segmentOf(Classification c) {
        return (int) Math.min(SEGMENTS - 1, c.getPtsMs() * SEGMENTS / decoded.durationMillis());
    }

    private static List<Classification> framesOfSegment(int segment) {
        return frames.stream().filter(c -> segmentOf(c) == segment).toList();
    }

    /** One event per segment of the sample, as the preprocess service writes them. */
    private static List<VideoSampled> segmentEvents(String videoId) {
        List<VideoSampled> out = new ArrayList<>();
        long duration = decoded.durationMillis();
        for (int s = 0; s < SEGMENTS; s++) {
            long decodedHere = decoded.framesDecoded() * (s + 1) / SEGMENTS - decoded.framesDecoded() * s / SEGMENTS;
            out.add(VideoSampled.newBuilder()
                    .setVideoId(videoId)
                    .setSegmentIndex(s)
                    .setFinalSegment(s == SEGMENTS - 1)
                    .setSegmentStartMs(duration * s / SEGMENTS)
                    .setSegmentEndMs(duration * (s + 1) / SEGMENTS)
                    .setFramesSampled(framesOfSegment(s).size())
                    .setFramesDecoded(decodedHere)
                    .setFramesSkipped(s + 1)
                    .setDurationMs(duration)
                    .setFrameRate(decoded.frameRate())
                    .setWidth(decoded.width())
                    .setHeight(decoded.height())
                    .addModels(MODEL)
                    .build());
        }
        return out;
    }

    /** A synthetic frame score: frame {@code i} every 40 ms, top label {@code label}. */
    private static Classification synthetic(String videoId, long i, int label) {
        return Classification.newBuilder()
                .setRequestId(videoId)
                .setVideoId(videoId)
                .setModelName(MODEL)
                .setModelVersion("1")
                .setFrameIndex(i)
                .setPtsMs(i * 40)
                .addLabels(Label.newBuilder()
                        .setLabel("class-" + label)
                        .setIndex(label)
                        .setProbability(0.9f))
                .build();
    }

    private static VideoSampled finalSegment(String videoId, int index, long framesSampled) {
        return VideoSampled.newBuilder()
                .setVideoId(videoId)
                .setSegmentIndex(index)
                .setFinalSegment(true)
                .setFramesSampled(framesSampled)
                .setFramesDecoded(framesSampled)
                .setFrameRate(25)
                .addModels(MODEL)
                .build();
    }

    private static String traceparent(int span) {
        return String.format("00-4bf92f3577b34da6a3ce929d0e0e4736-%016x-01", span);
    }

    private static Headers traced(String requestId, int span) {
        Headers headers = new RecordHeaders();
        headers.add("x-request-id", requestId.getBytes(StandardCharsets.UTF_8));
        headers.add("traceparent", traceparent(span).getBytes(StandardCharsets.UTF_8));
        return headers;
    }

    // --- outputs --------------------------------------------------------------------------------

    private List<TestRecord<String, byte[]>> recordsOf(String videoId) {
        return summaries.readRecordsToList().stream()
                .filter(r -> r.key().equals(videoId))
                .toList();
    }

    private List<VideoSummary> summariesOf(String videoId) throws Exception {
        List<VideoSummary> out = new ArrayList<>();
        for (var r : recordsOf(videoId)) {
            out.add(VideoSummary.parseFrom(r.value()));
        }
        return out;
    }

    /** The one final summary of a video (fails unless there is exactly one). */
    private VideoSummary onlyFinal(String videoId) throws Exception {
        List<VideoSummary> finals = finals(summariesOf(videoId));
        assertEquals(1, finals.size(), "one final summary of " + videoId + ": " + finals);
        return finals.get(0);
    }

    private static List<VideoSummary> finals(List<VideoSummary> all) {
        return all.stream().filter(VideoSummary::getFinal).toList();
    }

    private VideoAggregate header(String videoId) throws Exception {
        byte[] stored = driver.<String, byte[]>getKeyValueStore(VideoSummaryTopology.STORE)
                .get(videoId);
        return stored == null ? null : VideoAggregate.parseFrom(stored);
    }

    private int framesStored(String videoId) {
        int n = 0;
        KeyValueStore<String, byte[]> store = driver.getKeyValueStore(VideoSummaryTopology.FRAMES_STORE);
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(videoId + '\u0000', new StringSerializer())) {
            while (it.hasNext()) {
                it.next();
                n++;
            }
        }
        return n;
    }

    private static String header(TestRecord<String, byte[]> r, String key) {
        var h = r.headers().lastHeader(key);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    // --- the sample video -----------------------------------------------------------------------

    @Test
    void timelineOfTheSampleVideoMatchesItsScheduleWithinOneSamplingInterval() throws Exception {
        List<Object> parts = new ArrayList<>(frames);
        parts.addAll(segmentEvents("sample"));
        Collections.shuffle(parts, new Random(7));
        List<Classification> other = copies(frames.subList(0, 30), "other");
        for (int i = 0; i < parts.size(); i++) {
            if (parts.get(i) instanceof Classification c) {
                pipe(c);
            } else {
                pipe((VideoSampled) parts.get(i));
            }
            if (i < other.size()) {
                pipe(other.get(i));
            }
        }
        List<VideoSummary> all = summariesOf("sample");
        List<VideoSummary> finals = finals(all);
        assertEquals(1, finals.size(), "exactly one final summary");
        assertTrue(all.size() > 1 && !all.get(0).getFinal(), "progress updates before the final summary");
        VideoSummary progress = all.get(0);
        assertEquals(0, progress.getTimelines(0).getSegmentsCount(), "progress updates carry counts only");
        assertEquals(40, progress.getTimelines(0).getFramesScored());

        VideoSummary summary = finals.get(0);
        assertEquals(VideoSummary.State.COMPLETE, summary.getState());
        assertEquals(frames.size(), summary.getTimelines(0).getFramesScored());
        assertEquals(decoded.framesSampled(), summary.getFramesSampled(), "sum over the segments");
        assertEquals(decoded.framesDecoded(), summary.getFramesDecoded());
        assertEquals(SEGMENTS * (SEGMENTS + 1) / 2, summary.getFramesSkipped(), "sum over the segments");
        assertEquals(SEGMENTS, summary.getSegments());
        assertEquals(SEGMENTS, summary.getSegmentsSampled());
        ModelTimeline timeline = summary.getTimelines(0);
        assertEquals(timeline.getSegmentsCount(), timeline.getRuns());
        assertFalse(timeline.getSegmentsMerged());
        ScheduleCheck.assertMatches(ROOT.resolve("samples/video-schedule.json"), EVERY, timeline.getSegmentsList());
        // Frame scores never become image results.
        assertTrue(results.isEmpty());
        // Parts arriving after the final summary change nothing.
        pipe(frames.get(0));
        pipe(segmentEvents("sample").get(0));
        assertTrue(summariesOf("sample").isEmpty());
        // The interleaved video is still open (no segment event): progress only.
        assertTrue(summariesOf("other").stream().noneMatch(VideoSummary::getFinal));
    }

    @Test
    void finalSummaryRebuiltFromTheStoresForQueriesEqualsTheEmittedOne() throws Exception {
        frames.forEach(this::pipe);
        segmentEvents("sample").forEach(this::pipe);
        VideoSummary emitted = finals(summariesOf("sample")).get(0);
        VideoAggregate header = header("sample");
        VideoSummary rebuilt = VideoTimelines.summarize(
                header,
                VideoTimelines.state(header),
                VideoSummaryTopology.frameSource(driver.getKeyValueStore(VideoSummaryTopology.FRAMES_STORE), "sample"),
                DEFAULTS.shape());
        assertEquals(emitted, rebuilt);
    }

    @Test
    void completesOnlyOnceEverySegmentEventAndEveryFrameArrived() throws Exception {
        List<VideoSampled> segments = segmentEvents("sample");
        Classification last = frames.get(frames.size() - 1);
        frames.stream().filter(c -> c != last).forEach(this::pipe);
        segments.stream().filter(e -> e.getSegmentIndex() != 2).forEach(this::pipe);
        assertTrue(finals(summariesOf("sample")).isEmpty(), "segment 2 and one frame missing");
        VideoAggregate progress = header("sample");
        assertEquals(SEGMENTS - 1, progress.getSegmentsDoneCount());
        assertEquals(VideoSummary.State.IN_PROGRESS, VideoTimelines.state(progress));
        assertEquals(SEGMENTS - 1, VideoTimelines.progress(progress).getSegmentsSampled());
        assertEquals(SEGMENTS, VideoTimelines.progress(progress).getSegments());

        pipe(segments.get(2));
        assertTrue(finals(summariesOf("sample")).isEmpty(), "one frame missing");
        pipe(last);
        List<VideoSummary> finals = finals(summariesOf("sample"));
        assertEquals(1, finals.size());
        assertEquals(VideoSummary.State.COMPLETE, finals.get(0).getState());
    }

    @Test
    void missingMiddleSegmentKeepsTheVideoOpenUntilTheStallTimeoutNamesIt() throws Exception {
        frames.forEach(this::pipe); // every frame, even those of segment 2
        segmentEvents("sample").stream().filter(e -> e.getSegmentIndex() != 2).forEach(this::pipe);
        assertTrue(finals(summariesOf("sample")).isEmpty());
        assertEquals(VideoSummary.State.IN_PROGRESS, VideoTimelines.state(header("sample")));
        driver.advanceWallClockTime(Duration.ofSeconds(61));
        List<TestRecord<String, byte[]>> records = recordsOf("sample");
        assertEquals(1, records.size());
        VideoSummary summary = VideoSummary.parseFrom(records.get(0).value());
        assertTrue(summary.getFinal());
        assertEquals(VideoSummary.State.FAILED, summary.getState());
        assertEquals(
                "segments 2 (1 of 4) were not sampled within 60000 ms ("
                        + (frames.size() - framesOfSegment(2).size())
                        + " frames sampled, "
                        + frames.size()
                        + " scored)",
                summary.getFailureMessage());
        assertEquals(SEGMENTS - 1, summary.getSegmentsSampled());
        assertEquals(frames.size(), summary.getTimelines(0).getFramesScored());
        assertNull(header(records.get(0), "traceparent"), "a sweep has no input record");
    }

    @Test
    void videoWaitingForSegmentsQueuedBehindOthersIsNotFailedByTheScoringStallTimeout() throws Exception {
        start(new VideoSummaryTopology.Settings(
                40,
                Duration.ofSeconds(60),
                Duration.ofHours(1),
                Duration.ofSeconds(1),
                1000,
                Duration.ofHours(6),
                VideoSummaryTopology.Settings.DEFAULT_OBJECT_GAP_FRAMES,
                VideoSummaryTopology.Settings.DEFAULT_OUT_OF_DOMAIN_GAP_FRAMES));
        frames.stream().filter(c -> segmentOf(c) != 2).forEach(this::pipe);
        segmentEvents("sample").stream().filter(e -> e.getSegmentIndex() != 2).forEach(this::pipe);
        driver.advanceWallClockTime(Duration.ofMinutes(30));
        assertTrue(finals(summariesOf("sample")).isEmpty(), "segment 2 may still be waiting in the segment topic");
        // It comes after half an hour; the video completes.
        framesOfSegment(2).forEach(this::pipe);
        segmentEvents("sample").stream().filter(e -> e.getSegmentIndex() == 2).forEach(this::pipe);
        List<VideoSummary> finals = finals(summariesOf("sample"));
        assertEquals(1, finals.size());
        assertEquals(VideoSummary.State.COMPLETE, finals.get(0).getState());
    }

    @Test
    void fullySampledVideoWhoseScoresStopEndsAfterTheShortStallTimeout() throws Exception {
        start(new VideoSummaryTopology.Settings(
                40,
                Duration.ofSeconds(60),
                Duration.ofHours(1),
                Duration.ofSeconds(1),
                1000,
                Duration.ofHours(6),
                VideoSummaryTopology.Settings.DEFAULT_OBJECT_GAP_FRAMES,
                VideoSummaryTopology.Settings.DEFAULT_OUT_OF_DOMAIN_GAP_FRAMES));
        frames.stream().filter(c -> segmentOf(c) != 2).forEach(this::pipe);
        segmentEvents("sample").forEach(this::pipe);
        driver.advanceWallClockTime(Duration.ofSeconds(61));
        List<VideoSummary> finals = finals(summariesOf("sample"));
        assertEquals(1, finals.size(), "every segment was sampled; the missing scores are a real stall");
        assertEquals(VideoSummary.State.FAILED, finals.get(0).getState());
    }

    @Test
    void failedSegmentEndsTheVideoFailedWithTheFirstFailureAndHowManySegmentsFailed() throws Exception {
        List<Classification> ofTwo = framesOfSegment(2);
        int sentBeforeFailure = ofTwo.size() / 2;
        List<VideoSampled> segments = new ArrayList<>(segmentEvents("sample"));
        segments.set(
                2,
                segments.get(2).toBuilder()
                        .setFramesSampled(sentBeforeFailure)
                        .setFailed(true)
                        .setFailureReason(ReasonCode.VIDEO_DECODE_FAILED)
                        .setFailureMessage("corrupt packet at 11.2 s")
                        .build());
        frames.stream()
                .filter(c -> segmentOf(c) != 2 || ofTwo.indexOf(c) < sentBeforeFailure)
                .forEach(this::pipe);
        segments.forEach(this::pipe);
        VideoSummary summary = onlyFinal("sample");
        assertEquals(VideoSummary.State.FAILED, summary.getState());
        assertEquals(ReasonCode.VIDEO_DECODE_FAILED, summary.getFailureReason());
        assertEquals("corrupt packet at 11.2 s (1 of 4 segments failed)", summary.getFailureMessage());
        assertEquals(frames.size() - (ofTwo.size() - sentBeforeFailure), summary.getFramesSampled());
        assertEquals(summary.getFramesSampled(), summary.getTimelines(0).getFramesScored());
    }

    @Test
    void refusedVideoEndsFailedAtOnceFromItsOneEvent() throws Exception {
        pipe(VideoSampled.newBuilder()
                .setVideoId("refused")
                .setSegmentIndex(0)
                .setFinalSegment(true)
                .setFailed(true)
                .setFailureReason(ReasonCode.VIDEO_DECODE_FAILED)
                .setFailureMessage("moov atom not found")
                .addModels(MODEL)
                .build());
        VideoSummary summary = onlyFinal("refused");
        assertEquals(VideoSummary.State.FAILED, summary.getState());
        assertEquals(ReasonCode.VIDEO_DECODE_FAILED, summary.getFailureReason());
        assertTrue(summary.getFailureMessage().startsWith("moov atom not found"), summary.getFailureMessage());
        assertEquals(0, summary.getFramesSampled());
        assertEquals(1, summary.getSegments());
        assertEquals(0, summary.getTimelines(0).getFramesScored());
    }

    @Test
    void videoThatFailsPartWaySaysSoAndHowFarItGot() throws Exception {
        copies(frames.subList(0, 20), "broken").forEach(this::pipe);
        pipe(VideoSampled.newBuilder()
                .setVideoId("broken")
                .setSegmentIndex(0)
                .setFinalSegment(true)
                .setFramesSampled(20)
                .addModels(MODEL)
                .setFailed(true)
                .setFailureReason(ReasonCode.VIDEO_DECODE_FAILED)
                .setFailureMessage("corrupt packet (20 frames were sampled before the failure)")
                .build());
        VideoSummary summary = onlyFinal("broken");
        assertEquals(VideoSummary.State.FAILED, summary.getState());
        assertEquals(ReasonCode.VIDEO_DECODE_FAILED, summary.getFailureReason());
        assertEquals(20, summary.getFramesSampled());
        assertEquals(20, summary.getTimelines(0).getFramesScored());
        assertFalse(summary.getTimelines(0).getSegmentsList().isEmpty());
    }

    @Test
    void videoWhoseFramesStopArrivingEndsAsFailedAfterTheStallTimeout() throws Exception {
        copies(frames.subList(0, 10), "stalled").forEach(this::pipe);
        segmentEvents("stalled").forEach(this::pipe);
        driver.advanceWallClockTime(Duration.ofSeconds(30));
        assertTrue(summariesOf("stalled").stream().noneMatch(VideoSummary::getFinal));
        driver.advanceWallClockTime(Duration.ofSeconds(61));
        List<VideoSummary> finals = finals(summariesOf("stalled"));
        assertEquals(1, finals.size());
        assertEquals(VideoSummary.State.FAILED, finals.get(0).getState());
        assertEquals(
                (frames.size() - 10) + " of " + frames.size() + " sampled frames were not scored within 60000 ms",
                finals.get(0).getFailureMessage());
        assertEquals(10, finals.get(0).getTimelines(0).getFramesScored());
    }

    @Test
    void repeatedFramesAndSegmentEventsCountOnce() throws Exception {
        List<Object> parts = new ArrayList<>();
        for (int copy = 0; copy < 2; copy++) {
            parts.addAll(frames);
            parts.addAll(segmentEvents("sample"));
        }
        Collections.shuffle(parts, new Random(11));
        for (Object part : parts) {
            if (part instanceof Classification c) {
                pipe(c);
            } else {
                pipe((VideoSampled) part);
            }
        }
        VideoSummary summary = onlyFinal("sample");
        assertEquals(VideoSummary.State.COMPLETE, summary.getState());
        assertEquals(frames.size(), summary.getTimelines(0).getFramesScored());
        assertEquals(decoded.framesSampled(), summary.getFramesSampled());
        assertEquals(SEGMENTS, summary.getSegmentsSampled());
        assertEquals(frames.size(), framesStored("sample"));
    }

    // --- limits
    // -----------------------------------------------------------------------------------

    @Test
    void headerStaysSmallAfterTwentyThousandFramesOverSixHundredSegments() throws Exception {
        int total = 20_000;
        int segmentCount = 600;
        try (AggregatorHarness aggregator = new AggregatorHarness(DEFAULTS, topics)) {
            for (int s = 0; s < segmentCount; s++) {
                long from = (long) total * s / segmentCount;
                long to = (long) total * (s + 1) / segmentCount;
                for (long i = from; i < to; i++) {
                    if (i != total - 1) {
                        aggregator.score(synthetic("long", i, (int) (i / 500) % 10));
                    }
                }
                aggregator.event(VideoSampled.newBuilder()
                        .setVideoId("long")
                        .setSegmentIndex(s)
                        .setFinalSegment(s == segmentCount - 1)
                        .setFramesSampled(to - from)
                        .setFramesDecoded(to - from)
                        .setDurationMs(total * 40L)
                        .setFrameRate(25)
                        .setWidth(1920)
                        .setHeight(1080)
                        .addModels(MODEL)
                        .build());
            }
            int open = aggregator.header("long").length;
            assertTrue(finals(aggregator.summaries()).isEmpty(), "the last frame is still missing");
            aggregator.score(synthetic("long", total - 1, ((total - 1) / 500) % 10));
            int done = aggregator.header("long").length;
            System.out.printf(
                    "[video header] %d frames over %d segments: header %d bytes open, %d bytes final%n",
                    total, segmentCount, open, done);
            assertTrue(open < 2048, open + " bytes");
            assertTrue(done < 2048, done + " bytes");
            VideoSummary summary = finals(aggregator.summaries()).get(0);
            assertEquals(VideoSummary.State.COMPLETE, summary.getState());
            assertEquals(total, summary.getTimelines(0).getFramesScored());
            assertEquals(segmentCount, summary.getSegments());
            assertEquals(total / 500, summary.getTimelines(0).getSegmentsCount());
        }
    }

    @Test
    void aggregatesFiftyThousandFramesWithTheSameWorkPerFrameThroughout() throws Exception {
        int total = 50_000;
        long[] blockMs = new long[total / 10_000];
        try (AggregatorHarness aggregator = new AggregatorHarness(DEFAULTS, topics)) {
            for (int i = 0; i < 10_000; i++) {
                aggregator.score(synthetic("warm-up", i, (i / 250) % 10)); // JIT and RocksDB warm-up
            }
            aggregator.summaries();
            for (int block = 0; block < blockMs.length; block++) {
                long t0 = System.nanoTime();
                for (int i = block * 10_000; i < (block + 1) * 10_000; i++) {
                    aggregator.score(synthetic("bulk", i, (i / 250) % 10));
                }
                blockMs[block] = (System.nanoTime() - t0) / 1_000_000;
            }
            assertEquals(
                    total / DEFAULTS.progressEveryFrames(),
                    aggregator.summaries().size(),
                    "progress updates");
            long t0 = System.nanoTime();
            aggregator.event(finalSegment("bulk", 0, total));
            long finalMs = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf(
                    "[video aggregation] %d frames, ms per 10k frames: %s; final summary %d ms%n",
                    total, Arrays.toString(blockMs), finalMs);
            VideoSummary summary = finals(aggregator.summaries()).get(0);
            assertEquals(VideoSummary.State.COMPLETE, summary.getState());
            assertEquals(total, summary.getTimelines(0).getFramesScored());
            assertEquals(total / 250, summary.getTimelines(0).getRuns());
        }
    }

    @Test
    void timelineOfFiveThousandAlternatingLabelsListsAtMostMaxSegments() throws Exception {
        VideoSummaryTopology.Settings settings = new VideoSummaryTopology.Settings(
                0, Duration.ofSeconds(60), Duration.ofHours(1), Duration.ofSeconds(1), 100);
        try (AggregatorHarness aggregator = new AggregatorHarness(settings, topics)) {
            for (int i = 0; i < 5000; i++) {
                aggregator.score(synthetic("flicker", i, i % 2));
            }
            aggregator.event(finalSegment("flicker", 0, 5000));
            List<VideoSummary> all = aggregator.summaries();
            assertEquals(1, all.size(), "progress updates are off");
            ModelTimeline timeline = all.get(0).getTimelines(0);
            assertTrue(timeline.getSegmentsCount() <= 100, timeline.getSegmentsCount() + " segments");
            assertEquals(5000, timeline.getRuns());
            assertTrue(timeline.getSegmentsMerged());
            assertEquals(
                    5000,
                    timeline.getSegmentsList().stream()
                            .mapToLong(LabelSegment::getFrames)
                            .sum());
        }
    }

    /** A detector's frame {@code i} (40 ms apart) holding {@code dogs} dogs and, when asked, a person. */
    private static Classification detected(String videoId, long i, int dogs, boolean person) {
        Classification.Builder c = Classification.newBuilder()
                .setRequestId(videoId)
                .setVideoId(videoId)
                .setModelName(MODEL)
                .setModelVersion("1")
                .setFrameIndex(i)
                .setPtsMs(i * 40)
                .setDetector(true);
        for (int d = 0; d < dogs; d++) {
            c.addDetections(Detection.newBuilder()
                    .setLabel("dog")
                    .setIndex(16)
                    .setScore(0.5f + 0.1f * d)
                    .setBox(Box.newBuilder().setXMin(10 * d).setXMax(10 * d + 5).setYMax(5)));
        }
        if (person) {
            c.addDetections(Detection.newBuilder()
                    .setLabel("person")
                    .setIndex(0)
                    .setScore(0.8f)
                    .setBox(Box.newBuilder().setXMax(5).setYMax(5)));
        }
        return c.build();
    }

    @Test
    void aDetectorsFramesGiveEachClassItsIntervalsPeakCountAndMeanScore() throws Exception {
        VideoSummaryTopology.Settings settings = new VideoSummaryTopology.Settings(
                0, Duration.ofSeconds(60), Duration.ofHours(1), Duration.ofSeconds(1), 100);
        // Dogs in frames 0-9 except frame 4 (one missed detection) and two of them in frame 7; gone in
        // 10-14; back in 15-19. A person in frames 12-13 only, then missed twice: that ends it.
        try (AggregatorHarness aggregator = new AggregatorHarness(settings, topics)) {
            for (int i = 0; i < 20; i++) {
                int dogs = (i < 10 && i != 4) || i >= 15 ? (i == 7 ? 2 : 1) : 0;
                aggregator.score(detected("objects", i, dogs, i == 12 || i == 13));
            }
            aggregator.event(finalSegment("objects", 0, 20));
            ModelTimeline timeline = aggregator.summaries().get(0).getTimelines(0);
            assertEquals(2, timeline.getObjectsCount(), timeline.toString());
            ObjectTrack person = timeline.getObjects(0);
            assertEquals("person", person.getLabel());
            assertEquals(1, person.getIntervalsCount());
            assertEquals(12 * 40, person.getIntervals(0).getStartMs());
            assertEquals(14 * 40, person.getIntervals(0).getEndMs(), "ends at the first frame without it");
            ObjectTrack dog = timeline.getObjects(1);
            assertEquals("dog", dog.getLabel());
            assertEquals(16, dog.getIndex());
            assertEquals(2, dog.getIntervalsCount(), "frame 4 alone does not split the first interval");
            ObjectInterval first = dog.getIntervals(0);
            assertEquals(0, first.getStartMs());
            assertEquals(10 * 40, first.getEndMs());
            assertEquals(9, first.getFrames());
            assertEquals(2, first.getPeakCount());
            assertEquals(0, first.getFirstFrameIndex());
            assertEquals(9, first.getLastFrameIndex());
            ObjectInterval second = dog.getIntervals(1);
            assertEquals(15 * 40, second.getStartMs());
            assertEquals(20 * 40, second.getEndMs(), "the last frame plus one sampling interval");
            assertEquals(1, second.getPeakCount());
            assertEquals(14, dog.getFrames());
            assertEquals(2, dog.getPeakCount());
            assertEquals((13 * 0.5 + 0.6) / 14, dog.getMeanScore(), 1e-5);
            assertFalse(dog.getIntervalsMerged());
        }
    }

    @Test
    void outOfDomainFramesAreCountedAndFormNoLabelSegment() throws Exception {
        VideoSummaryTopology.Settings settings = new VideoSummaryTopology.Settings(
                0, Duration.ofSeconds(60), Duration.ofHours(1), Duration.ofSeconds(1), 100);
        try (AggregatorHarness aggregator = new AggregatorHarness(settings, topics)) {
            // Label 3 in frames 0-4, 8-9 and 20-24; frames 5-7 (3, within the gap of 5) and 10-19
            // (10) are unlike the training data: their top label, 1, means nothing.
            for (int i = 0; i < 25; i++) {
                boolean ood = (i >= 5 && i <= 7) || (i >= 10 && i <= 19);
                aggregator.score(synthetic("drift", i, ood ? 1 : 3).toBuilder()
                        .setOutOfDomain(ood)
                        .setDomainScore(ood ? 9 : 0.5f)
                        .setDomainThreshold(1)
                        .build());
            }
            aggregator.event(finalSegment("drift", 0, 25));
            ModelTimeline timeline = aggregator.summaries().get(0).getTimelines(0);
            assertEquals(13, timeline.getFramesOutOfDomain());
            assertEquals(25, timeline.getFramesScored());
            assertEquals(2, timeline.getSegmentsCount(), timeline.toString());
            LabelSegment first = timeline.getSegments(0);
            assertEquals(3, first.getIndex());
            assertEquals(0, first.getStartMs());
            assertEquals(10 * 40, first.getEndMs(), "three flagged frames do not split it; ten end it at the first");
            assertEquals(7, first.getFrames(), "flagged frames are not counted in it");
            LabelSegment second = timeline.getSegments(1);
            assertEquals(20 * 40, second.getStartMs());
            assertEquals(5, second.getFrames());
            assertEquals(1, timeline.getTopLabelsCount(), "label 1 of the flagged frames is no top label");
        }
    }

    @Test
    void aClassThatComesAndGoesThousandsOfTimesListsAtMostMaxSegmentsIntervals() throws Exception {
        VideoSummaryTopology.Settings settings = new VideoSummaryTopology.Settings(
                0, Duration.ofSeconds(60), Duration.ofHours(1), Duration.ofSeconds(1), 50);
        try (AggregatorHarness aggregator = new AggregatorHarness(settings, topics)) {
            // Present two frames in every five: 1,000 intervals.
            for (int i = 0; i < 5000; i++) {
                aggregator.score(detected("blinking", i, i % 5 < 2 ? 1 : 0, false));
            }
            aggregator.event(finalSegment("blinking", 0, 5000));
            ObjectTrack dog = aggregator.summaries().get(0).getTimelines(0).getObjects(0);
            assertTrue(dog.getIntervalsCount() <= 50, dog.getIntervalsCount() + " intervals");
            assertTrue(dog.getIntervalsMerged());
            assertEquals(2000, dog.getFrames());
            assertEquals(
                    2000,
                    dog.getIntervalsList().stream()
                            .mapToLong(ObjectInterval::getFrames)
                            .sum());
            assertEquals(0, dog.getIntervals(0).getStartMs());
            assertEquals(
                    4997 * 40, dog.getIntervals(dog.getIntervalsCount() - 1).getEndMs());
        }
    }

    @Test
    void mergingFoldsShortRunsIntoTheSegmentBeforeThem() {
        // 60 runs of 200 frames (labels 0, 1, 0, ...), a one-frame blip of label 2 after each but
        // the last:
        // 119 runs, minRun = ceil(12059 / 99) = 122, so each blip joins the run before it.
        List<FrameScore> in = new ArrayList<>();
        long frame = 0;
        for (int run = 0; run < 60; run++) {
            for (int k = 0; k < 200; k++) {
                in.add(score(frame++, run % 2, 0.8f));
            }
            if (run < 59) {
                in.add(score(frame++, 2, 0.3f));
            }
        }
        ModelTimeline t = ModelTimelines.timeline(MODEL, "1", in, 25, new VideoTimelines.Shape(100, 1, 5));
        assertEquals(119, t.getRuns());
        assertTrue(t.getSegmentsMerged());
        assertEquals(60, t.getSegmentsCount());
        for (int run = 0; run < 60; run++) {
            LabelSegment s = t.getSegments(run);
            assertEquals(run % 2, s.getIndex(), "segment " + run);
            assertEquals(run < 59 ? 201 : 200, s.getFrames(), "segment " + run);
            assertEquals(0.8f, s.getMeanConfidence(), 1e-4, "the mean over the frames of the segment's label");
            assertEquals(run * 201L, s.getFirstFrameIndex());
        }
        // The first run merges forward: a leading blip joins the first long run.
        List<FrameScore> leading = new ArrayList<>();
        leading.add(score(0, 2, 0.3f));
        for (int i = 1; i < in.size(); i++) {
            leading.add(
                    in.get(i - 1).toBuilder().setFrameIndex(i).setPtsMs(i * 40L).build());
        }
        ModelTimeline t2 = ModelTimelines.timeline(MODEL, "1", leading, 25, new VideoTimelines.Shape(100, 1, 5));
        assertEquals(0, t2.getSegments(0).getIndex());
        assertEquals(0, t2.getSegments(0).getFirstFrameIndex());
        assertTrue(t2.getSegmentsCount() <= 100);
        // Without more runs than segments, nothing merges.
        ModelTimeline t3 = ModelTimelines.timeline(MODEL, "1", in, 25, new VideoTimelines.Shape(119, 1, 5));
        assertFalse(t3.getSegmentsMerged());
        assertEquals(119, t3.getSegmentsCount());
    }

    private static FrameScore score(long frame, int label, float p) {
        return FrameScore.newBuilder()
                .setModelName(MODEL)
                .setFrameIndex(frame)
                .setPtsMs(frame * 40)
                .setIndex(label)
                .setLabel("class-" + label)
                .setProbability(p)
                .build();
    }

    // --- records
    // ----------------------------------------------------------------------------------

    @Test
    void unparseableVideoEventBecomesOneDeadLetter() throws Exception {
        Headers headers = traced("bad-video", 1);
        events.pipeInput(
                new TestRecord<>("bad-video".getBytes(StandardCharsets.UTF_8), new byte[] {0x0a, 0x7f, 0x01}, headers));
        List<TestRecord<String, byte[]>> letters = deadLetters.readRecordsToList();
        assertEquals(1, letters.size());
        DeadLetter letter = DeadLetter.parseFrom(letters.get(0).value());
        assertEquals(VideoSummaryTopology.EVENTS_STAGE, letter.getStage());
        assertEquals("captioning/video-events", letter.getStage());
        assertEquals(ReasonCode.DESERIALIZATION_FAILED, letter.getReason());
        assertEquals(topics.videoEvents().name(), letter.getOriginalTopic());
        assertEquals("bad-video", letter.getOriginalKey().toStringUtf8());
        assertEquals("bad-video", letter.getRequestId());
        assertEquals("bad-video", letters.get(0).key());
        assertEquals("DESERIALIZATION_FAILED", header(letters.get(0), "x-dlq-reason"));
        assertEquals(traceparent(1), header(letters.get(0), "traceparent"));
        assertTrue(summaries.isEmpty());
    }

    @Test
    void frameScoreKeyedByAnotherIdThanItsVideoBecomesADeadLetter() throws Exception {
        Classification frame = frames.get(0);
        scores.pipeInput("sample/0".getBytes(StandardCharsets.UTF_8), frame.toByteArray());
        List<TestRecord<String, byte[]>> letters = deadLetters.readRecordsToList();
        assertEquals(1, letters.size());
        DeadLetter letter = DeadLetter.parseFrom(letters.get(0).value());
        assertEquals(VideoSummaryTopology.FRAMES_STAGE, letter.getStage());
        assertEquals(ReasonCode.BAD_REQUEST, letter.getReason());
        assertTrue(letter.getMessage().contains("keyed by video id"), letter.getMessage());
        assertNull(header("sample/0"), "no aggregate for the wrong key");
        assertNull(header("sample"));
    }

    @Test
    void summariesCarryTheRequestIdAndTraceOfTheRecordThatTriggeredThem() throws Exception {
        List<Classification> some = copies(frames.subList(0, 60), "traced");
        for (int i = 0; i < some.size(); i++) {
            pipe(some.get(i), traced("traced", 100 + i));
        }
        pipe(finalSegment("traced", 0, some.size()), traced("traced", 999));
        List<TestRecord<String, byte[]>> records = recordsOf("traced");
        assertEquals(2, records.size(), "one progress update (40 frames), one final summary");
        assertEquals("traced", header(records.get(0), "x-request-id"));
        assertEquals(
                traceparent(100 + 39),
                header(records.get(0), "traceparent"),
                "the 40th frame sent the progress update");
        assertTrue(VideoSummary.parseFrom(records.get(1).value()).getFinal());
        assertEquals("traced", header(records.get(1), "x-request-id"));
        assertEquals(traceparent(999), header(records.get(1), "traceparent"), "the segment event completed the video");
    }

    @Test
    void finishedVideoIsForgottenWithItsFramesAfterTheRetentionPeriod() throws Exception {
        frames.forEach(this::pipe);
        segmentEvents("sample").forEach(this::pipe);
        copies(frames.subList(0, 5), "sample2").forEach(this::pipe);
        assertEquals(frames.size(), framesStored("sample"));
        driver.advanceWallClockTime(Duration.ofMinutes(30));
        assertNotNull(header("sample"), "still queryable within the retention period");
        driver.advanceWallClockTime(Duration.ofMinutes(31));
        assertNull(header("sample"));
        assertEquals(0, framesStored("sample"));
        assertEquals(5, framesStored("sample2"), "another video's frames stay");
    }

    @Test
    void framesAndEventsMeetInOneSubTopologyWithoutARepartition() {
        TopologyDescription description = topology(DEFAULTS).describe();
        assertFalse(description.toString().contains("repartition"), description.toString());
        TopologyDescription.Subtopology aggregation = description.subtopologies().stream()
                .filter(s -> s.nodes().stream().anyMatch(n -> n.name().equals("aggregate-videos")))
                .findFirst()
                .orElseThrow();
        Set<String> sources = new HashSet<>();
        aggregation.nodes().stream()
                .filter(n -> n instanceof TopologyDescription.Source)
                .forEach(n -> sources.addAll(((TopologyDescription.Source) n).topicSet()));
        assertTrue(
                sources.containsAll(
                        Set.of(topics.scores().name(), topics.videoEvents().name())),
                sources.toString());
        TopologyDescription.Processor aggregate = (TopologyDescription.Processor) aggregation.nodes().stream()
                .filter(n -> n.name().equals("aggregate-videos"))
                .findFirst()
                .orElseThrow();
        assertEquals(Set.of(VideoSummaryTopology.STORE, VideoSummaryTopology.FRAMES_STORE), aggregate.stores());
    }
}
