package io.streamvision.captioning.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.kafka.ValueFormat;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.proto.vision.v1.Label;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ResultsTopologyTest {

    private Topics topics = new Topics("");
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> scores;
    private TestInputTopic<byte[], byte[]> captions;
    private TestOutputTopic<String, byte[]> results;
    private TestOutputTopic<String, byte[]> deadLetters;

    @BeforeEach
    void setUp() {
        start(new Topics(""));
    }

    private void start(Topics topics) {
        start(topics, PendingResults.Format.V2);
    }

    /** (Re)starts the topology with these topics (and their output format), writing {@code format}. */
    private void start(Topics topics, PendingResults.Format format) {
        if (driver != null) {
            driver.close();
        }
        this.topics = topics;
        StreamsBuilder builder = new StreamsBuilder();
        ResultsTopology.build(
                builder,
                topics,
                new DeadLetters(topics.deadLetters(), 1024),
                new ResultsTopology.Expected(Set.of("fashion-cnn"), Set.of("caption-encoder")),
                Duration.ofSeconds(30),
                Duration.ofSeconds(1),
                format);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "results-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(builder.build(), props, Instant.ofEpochMilli(1_000_000));
        scores = driver.createInputTopic(topics.scores().name(), new ByteArraySerializer(), new ByteArraySerializer());
        captions =
                driver.createInputTopic(topics.captions().name(), new ByteArraySerializer(), new ByteArraySerializer());
        results = driver.createOutputTopic(
                topics.results().name(), new StringDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(
                topics.deadLetters().name(), new StringDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    private static byte[] key(String id) {
        return id.getBytes(StandardCharsets.UTF_8);
    }

    private static Classification labels(String id, String model) {
        return Classification.newBuilder()
                .setRequestId(id)
                .setModelName(model)
                .setModelVersion("1")
                .addLabels(Label.newBuilder().setLabel("Bag").setIndex(8).setProbability(0.9f))
                .build();
    }

    private static Caption caption(String id) {
        return Caption.newBuilder()
                .setRequestId(id)
                .setText("a red bag")
                .setDecoderModel("caption-decoder")
                .setDecoderVersion("1")
                .build();
    }

    @Test
    void aJsonDeploymentJoinsJsonPartsIntoJsonResultsAndDeadLetters() throws Exception {
        start(new Topics("", ValueFormat.JSON));
        scores.pipeInput(key("j"), topics.scores().encode(labels("j", "fashion-cnn")));
        captions.pipeInput(key("j"), topics.captions().encode(caption("j")));
        byte[] value = results.readValue();
        String text = new String(value, StandardCharsets.UTF_8);
        assertTrue(text.startsWith("{\"request_id\":\"j\",\"caption\":{"), text);
        ImageResult result = topics.results().parse(value);
        assertTrue(result.getComplete());
        assertEquals("a red bag", result.getCaption().getText());
        assertEquals("Bag", result.getClassifications(0).getLabels(0).getLabel());

        scores.pipeInput(key("bad"), "{\"request_id\": 12, \"labels\": \"no\"}".getBytes(StandardCharsets.UTF_8));
        byte[] letter = deadLetters.readValue();
        assertTrue(ValueFormat.isJson(letter), new String(letter, StandardCharsets.UTF_8));
        DeadLetter parsed = topics.deadLetters().parse(letter);
        assertEquals(ReasonCode.DESERIALIZATION_FAILED, parsed.getReason());
        assertEquals("bad", parsed.getOriginalKey().toStringUtf8());
    }

    @Test
    void joinsCaptionAndLabelsIntoOneCompleteResult() throws Exception {
        scores.pipeInput(key("a"), labels("a", "lenet").toByteArray());
        assertTrue(results.isEmpty(), "not complete without the caption and fashion-cnn");
        captions.pipeInput(key("a"), caption("a").toByteArray());
        assertTrue(results.isEmpty(), "fashion-cnn labels still missing");
        scores.pipeInput(key("a"), labels("a", "fashion-cnn").toByteArray());
        ImageResult result = ImageResult.parseFrom(results.readValue());
        assertTrue(result.getComplete());
        assertEquals("a red bag", result.getCaption().getText());
        assertEquals(2, result.getClassificationsCount());
        assertEquals("1", result.getModelVersionsOrThrow("caption-decoder"));
        assertEquals(1_000_000, result.getEmittedAtMs(), "emitted at the stream thread's wall clock (the driver's)");

        scores.pipeInput(key("a"), labels("a", "fashion-cnn").toByteArray());
        driver.advanceWallClockTime(Duration.ofSeconds(40));
        assertTrue(results.isEmpty(), "a late duplicate part does not make a second result");
    }

    @Test
    void aRequestForTheDetectorAloneIsCompleteWithItsObjects() throws Exception {
        Classification objects = labels("d", "centernet").toBuilder()
                .addRequestModels("centernet")
                .build();
        scores.pipeInput(key("d"), objects.toByteArray());
        ImageResult result = ImageResult.parseFrom(results.readValue());
        assertTrue(result.getComplete(), "no caption and no fashion-cnn were asked for");
        assertEquals("centernet", result.getClassifications(0).getModelName());
        assertFalse(result.hasCaption());
    }

    @Test
    void aRequestNamingItsModelsWaitsForEachOfThemAndSaysWhichIsMissing() throws Exception {
        List<String> models = List.of("centernet", "fashion-cnn", "caption-encoder");
        scores.pipeInput(
                key("e"),
                labels("e", "centernet").toBuilder()
                        .addAllRequestModels(models)
                        .build()
                        .toByteArray());
        captions.pipeInput(
                key("e"),
                caption("e").toBuilder().addAllRequestModels(models).build().toByteArray());
        assertTrue(results.isEmpty(), "fashion-cnn's labels were asked for too");
        scores.pipeInput(
                key("e"),
                labels("e", "fashion-cnn").toBuilder()
                        .addAllRequestModels(models)
                        .build()
                        .toByteArray());
        ImageResult whole = ImageResult.parseFrom(results.readValue());
        assertTrue(whole.getComplete());
        assertEquals(2, whole.getClassificationsCount());

        captions.pipeInput(
                key("f"),
                caption("f").toBuilder().addAllRequestModels(models).build().toByteArray());
        driver.advanceWallClockTime(Duration.ofSeconds(40));
        ImageResult partial = ImageResult.parseFrom(results.readValue());
        assertFalse(partial.getComplete());
        assertEquals("no labels of centernet, no labels of fashion-cnn within 30000 ms", partial.getMissingReason());
    }

    @Test
    void everyResultCarriesTheRequestIdAndTraceOfItsInputs() throws Exception {
        carriesTheRequestIdAndTraceOfItsInputs();
        assertFalse(
                driver.producedTopicNames().contains(HEADERS_CHANGELOG),
                "V2 keeps the headers in the pending result's value: " + driver.producedTopicNames());
        assertTrue(
                driver.producedTopicNames().contains(STORE_CHANGELOG),
                driver.producedTopicNames().toString());
    }

    @Test
    void inV1EveryResultCarriesTheRequestIdAndTraceOfItsInputsToo() throws Exception {
        start(new Topics(""), PendingResults.Format.V1);
        carriesTheRequestIdAndTraceOfItsInputs();
        assertTrue(
                driver.producedTopicNames().contains(HEADERS_CHANGELOG),
                driver.producedTopicNames().toString());
    }

    @Test
    void v2KeepsAPendingResultAndItsHeadersInOneValueAndAMarkerAV1ReleaseReads() throws Exception {
        captions.pipeInput(new TestRecord<>(key("a"), caption("a").toByteArray(), traced("a", TRACE)));
        byte[] value = pendingStore().get("a");
        assertEquals(0, value[0], "a V2 value");
        PendingResults.Stored read = PendingResults.read(value);
        assertEquals("a red bag", read.result().getCaption().getText());
        assertEquals(TRACE, traceOf(io.streamvision.kafka.RecordHeaders.decodePropagated(read.headers())));
        assertEquals(null, headersStore().get("a"), "nothing in the V1 headers store");

        scores.pipeInput(key("a"), labels("a", "fashion-cnn").toByteArray());
        assertTrue(ImageResult.parseFrom(results.readValue()).getComplete());
        ImageResult marker = ImageResult.parseFrom(pendingStore().get("a"));
        assertTrue(marker.getEmittedAtMs() > 0, "the marker is a plain ImageResult, as a V1 release writes it");
    }

    @Test
    void inV1APendingResultIsWhatAV1ReleaseReads() throws Exception {
        start(new Topics(""), PendingResults.Format.V1);
        captions.pipeInput(new TestRecord<>(key("a"), caption("a").toByteArray(), traced("a", TRACE)));
        assertEquals(
                "a red bag",
                ImageResult.parseFrom(pendingStore().get("a")).getCaption().getText());
        assertEquals(
                TRACE,
                traceOf(io.streamvision.kafka.RecordHeaders.decodePropagated(
                        headersStore().get("a"))));
        scores.pipeInput(key("a"), labels("a", "fashion-cnn").toByteArray());
        assertEquals(TRACE, traceOf(results.readRecord().headers()));
        assertEquals(null, headersStore().get("a"), "deleted with the emission");
    }

    @Test
    void resultsPendingFromAV1ReleaseAreJoinedAndExpiredWithTheirHeaders() throws Exception {
        String other = TRACE.replace("00f067aa0ba902b7", "00f067aa0ba902b9");
        for (String id : List.of("a", "b")) {
            pendingStore()
                    .put(
                            id,
                            ImageResult.newBuilder()
                                    .setRequestId(id)
                                    .setCaption(caption(id))
                                    .setFirstPartAtMs(1_000_000)
                                    .setLastPartAtMs(1_000_000)
                                    .build()
                                    .toByteArray());
            headersStore()
                    .put(
                            id,
                            io.streamvision.kafka.RecordHeaders.encodePropagated(
                                    traced(id, id.equals("a") ? TRACE : other)));
        }
        // A part that does not complete "a" rewrites it as V2: its V1 headers move into the value.
        scores.pipeInput(key("a"), labels("a", "lenet").toByteArray());
        assertEquals(null, headersStore().get("a"));
        assertEquals(
                TRACE,
                traceOf(io.streamvision.kafka.RecordHeaders.decodePropagated(
                        PendingResults.read(pendingStore().get("a")).headers())));
        scores.pipeInput(key("a"), labels("a", "fashion-cnn").toByteArray());
        TestRecord<String, byte[]> joined = results.readRecord();
        ImageResult whole = ImageResult.parseFrom(joined.value());
        assertTrue(whole.getComplete());
        assertEquals("a red bag", whole.getCaption().getText(), "the V1 value's caption");
        assertEquals(TRACE, traceOf(joined.headers()), "the V1 store's headers");
        assertEquals(null, headersStore().get("a"));

        driver.advanceWallClockTime(Duration.ofSeconds(40));
        TestRecord<String, byte[]> partial = results.readRecord();
        assertEquals("b", partial.key());
        assertFalse(ImageResult.parseFrom(partial.value()).getComplete());
        assertEquals(other, traceOf(partial.headers()));
        assertEquals(null, headersStore().get("b"));
        assertTrue(results.isEmpty());
    }

    @Test
    void resultsAndMarkersComeDueBetweenSweepsOfTheWholeStore() throws Exception {
        // The first punctuation (wall clock 1,001,000) sweeps the whole store; the next sweep is a
        // window (30 s) later, and in between only what comes due is read.
        driver.advanceWallClockTime(Duration.ofSeconds(1));
        // "p" waits for its caption; its first part is from 990,000, so its window ends at 1,020,000.
        scores.pipeInput(new TestRecord<>(
                key("p"), labels("p", "fashion-cnn").toByteArray(), null, Instant.ofEpochMilli(990_000)));
        driver.advanceWallClockTime(Duration.ofSeconds(4)); // 1,005,000
        // "c" is complete at 1,005,000: its marker expires after 1,035,000.
        scores.pipeInput(key("c"), labels("c", "fashion-cnn").toByteArray());
        captions.pipeInput(key("c"), caption("c").toByteArray());
        assertTrue(ImageResult.parseFrom(results.readRecord().value()).getComplete());

        driver.advanceWallClockTime(Duration.ofMillis(14_500)); // 1,019,500
        assertTrue(results.isEmpty(), "p's window is not over");
        driver.advanceWallClockTime(Duration.ofSeconds(1)); // 1,020,500: no sweep until 1,031,000
        TestRecord<String, byte[]> partial = results.readRecord();
        assertEquals("p", partial.key());
        assertFalse(ImageResult.parseFrom(partial.value()).getComplete(), "emitted as its window ended");

        driver.advanceWallClockTime(Duration.ofMillis(10_500)); // 1,031,000: the second sweep
        driver.advanceWallClockTime(Duration.ofSeconds(3)); // 1,034,000
        assertTrue(pendingStore().get("c") != null, "c's marker is kept for a window after its emission");
        driver.advanceWallClockTime(Duration.ofSeconds(2)); // 1,036,000: no sweep until 1,061,000
        assertEquals(null, pendingStore().get("c"), "the marker is deleted when it comes due");
        assertTrue(pendingStore().get("p") != null, "p's marker stays until 1,050,500");
        driver.advanceWallClockTime(Duration.ofSeconds(15)); // 1,051,000
        assertEquals(null, pendingStore().get("p"));
        assertTrue(results.isEmpty());
    }

    private static final String TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    private static final String STORE_CHANGELOG = "results-test-" + ResultsTopology.STORE + "-changelog";
    private static final String HEADERS_CHANGELOG = "results-test-" + ResultsTopology.HEADERS_STORE + "-changelog";

    private static RecordHeaders traced(String id, String trace) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("traceparent", trace.getBytes(StandardCharsets.UTF_8));
        headers.add("x-request-id", id.getBytes(StandardCharsets.UTF_8));
        return headers;
    }

    private static String traceOf(org.apache.kafka.common.header.Headers headers) {
        return new String(headers.lastHeader("traceparent").value(), StandardCharsets.UTF_8);
    }

    private KeyValueStore<String, byte[]> pendingStore() {
        return driver.getKeyValueStore(ResultsTopology.STORE);
    }

    private KeyValueStore<String, byte[]> headersStore() {
        return driver.getKeyValueStore(ResultsTopology.HEADERS_STORE);
    }

    private void carriesTheRequestIdAndTraceOfItsInputs() throws Exception {
        String trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        RecordHeaders headers = new RecordHeaders();
        headers.add("traceparent", trace.getBytes(StandardCharsets.UTF_8));
        headers.add("x-request-id", "a".getBytes(StandardCharsets.UTF_8));
        captions.pipeInput(new TestRecord<>(key("a"), caption("a").toByteArray(), headers));
        scores.pipeInput(key("a"), labels("a", "fashion-cnn").toByteArray());
        var complete = results.readRecord();
        assertEquals(
                trace, new String(complete.headers().lastHeader("traceparent").value()));
        assertEquals(
                "a", new String(complete.headers().lastHeader("x-request-id").value()));

        // A partial result, emitted by the window's punctuation, carries them too.
        RecordHeaders other = new RecordHeaders();
        other.add(
                "traceparent",
                trace.replace("00f067aa0ba902b7", "00f067aa0ba902b8").getBytes(StandardCharsets.UTF_8));
        captions.pipeInput(new TestRecord<>(key("b"), caption("b").toByteArray(), other));
        driver.advanceWallClockTime(Duration.ofSeconds(40));
        var partial = results.readRecord();
        assertEquals("b", partial.key());
        assertEquals(
                trace.replace("00f067aa0ba902b7", "00f067aa0ba902b8"),
                new String(partial.headers().lastHeader("traceparent").value()));
        assertEquals(
                "b", new String(partial.headers().lastHeader("x-request-id").value()));
    }

    @Test
    void emitsThePartialResultWithItsReasonWhenTheWindowCloses() throws Exception {
        captions.pipeInput(key("b"), caption("b").toByteArray());
        driver.advanceWallClockTime(Duration.ofSeconds(10));
        assertTrue(results.isEmpty());
        driver.advanceWallClockTime(Duration.ofSeconds(25));
        ImageResult result = ImageResult.parseFrom(results.readValue());
        assertFalse(result.getComplete());
        assertEquals("no labels of fashion-cnn within 30000 ms", result.getMissingReason());
        assertEquals("a red bag", result.getCaption().getText());
        assertTrue(results.isEmpty(), "exactly one result per image");
    }

    @Test
    void unreadablePartsBecomeDeadLettersWithTheDeadLetterHeaders() throws Exception {
        scores.pipeInput(key("c"), new byte[] {(byte) 0xFF, 0x00, 0x13});
        TestRecord<String, byte[]> out = deadLetters.readRecord();
        DeadLetter letter = DeadLetter.parseFrom(out.value());
        assertEquals(ReasonCode.DESERIALIZATION_FAILED, letter.getReason());
        assertEquals("c", letter.getOriginalKey().toStringUtf8());
        assertTrue(letter.getMessage().contains("vision.v1.Classification"), letter.getMessage());
        assertEquals(
                "DESERIALIZATION_FAILED",
                new String(out.headers().lastHeader("x-dlq-reason").value(), StandardCharsets.UTF_8));
        assertEquals(
                "captioning/results",
                new String(out.headers().lastHeader("x-dlq-stage").value(), StandardCharsets.UTF_8));
        assertTrue(results.isEmpty());
    }
}
