package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.testing.KafkaBrokerTestResource;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
class CaptioningServiceIT {

    /** Health and metrics: the management interface. */
    @TestHTTPResource(value = "/", management = true)
    URL management;

    private static final Topics TOPICS = new Topics(".it-captioning");

    /** A caption-encoder output record: one FP32 feature vector. */
    static ModelInferResponse features(String id, String model, JsonNode values) {
        ByteBuffer raw = ByteBuffer.allocate(values.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        values.forEach(v -> raw.putFloat((float) v.asDouble()));
        ModelInferResponse.Builder response =
                ModelInferResponse.newBuilder().setId(id).setModelName(model).setModelVersion("1");
        response.addOutputsBuilder()
                .setName("features")
                .setDatatype("FP32")
                .addShape(1)
                .addShape(values.size());
        return response.addRawOutputContents(ByteString.copyFrom(raw.array())).build();
    }

    @Test
    void kafkaStreamsIsHandedTheThreadReplacementPolicy() {
        // The Kafka Streams extension gives the application the one handler bean there is.
        var handlers = io.quarkus.arc.Arc.container()
                .select(org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.class);
        assertTrue(handlers.isResolvable(), "one handler");
        assertTrue(
                handlers.get() instanceof io.streamvision.kafka.StreamThreadReplacement,
                handlers.get().getClass().getName());
    }

    @Test
    void captionsFeatureRecordsWithBeamSearchAndDeadLettersTheRest() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        String bootstrap = TestBrokers.bootstrapServers();
        System.out.println("[captioning IT] talking to Kafka at " + bootstrap);
        JsonNode fixture = new ObjectMapper()
                .readTree(Path.of("../../models/caption-decoder/1/fixtures/greedy.json")
                        .toFile());
        JsonNode scenes = fixture.get("fixtures");
        TestClients.send(
                bootstrap,
                List.of(
                        record(
                                "c-0",
                                features("c-0", "caption-encoder", scenes.get(0).get("features"))
                                        .toByteArray()),
                        record(
                                "c-1",
                                features("c-1", "caption-encoder", scenes.get(1).get("features"))
                                        .toByteArray()),
                        record(
                                "c-wrong",
                                features("c-wrong", "lenet", scenes.get(0).get("features"))
                                        .toByteArray()),
                        // A vector of the wrong width in the same poll must fail alone, not take
                        // the poll with it.
                        record(
                                "c-short",
                                features(
                                                "c-short",
                                                "caption-encoder",
                                                new ObjectMapper()
                                                        .createArrayNode()
                                                        .add(0.5)
                                                        .add(0.25)
                                                        .add(0.125))
                                        .toByteArray()),
                        // Raw contents that are not a whole number of floats.
                        record(
                                "c-ragged",
                                features(
                                                "c-ragged",
                                                "caption-encoder",
                                                scenes.get(0).get("features"))
                                        .toBuilder()
                                        .setRawOutputContents(0, ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5}))
                                        .build()
                                        .toByteArray()),
                        record("c-bad", "garbage".getBytes(StandardCharsets.UTF_8))));

        List<ConsumerRecord<byte[], byte[]>> captions =
                TestClients.read(bootstrap, TOPICS.captions().name(), 2, Duration.ofSeconds(60), Duration.ofSeconds(1));
        Map<String, Caption> byId = captions.stream()
                .map(TOPICS.captions()::valueOf)
                .collect(Collectors.toMap(Caption::getRequestId, c -> c));
        assertEquals(2, captions.size());
        assertEquals(
                scenes.get(0).get("beam").get("caption").asText(),
                byId.get("c-0").getText());
        assertEquals(
                scenes.get(1).get("beam").get("caption").asText(),
                byId.get("c-1").getText());
        assertEquals("beam", byId.get("c-0").getSearch());

        List<ConsumerRecord<byte[], byte[]>> dlq = TestClients.read(
                bootstrap, TOPICS.deadLetters().name(), 4, Duration.ofSeconds(60), Duration.ofSeconds(1));
        Map<String, ReasonCode> reasons = dlq.stream()
                .map(TOPICS.deadLetters()::valueOf)
                .collect(Collectors.toMap(d -> d.getOriginalKey().toStringUtf8(), DeadLetter::getReason));
        assertEquals(
                Map.of(
                        "c-wrong",
                        ReasonCode.UNKNOWN_MODEL,
                        "c-bad",
                        ReasonCode.DESERIALIZATION_FAILED,
                        "c-short",
                        ReasonCode.INVALID_TENSOR,
                        "c-ragged",
                        ReasonCode.INVALID_TENSOR),
                reasons);

        // No classifier answered, so the results topology emits partial results when the window
        // closes.
        List<ConsumerRecord<byte[], byte[]>> results =
                TestClients.read(bootstrap, TOPICS.results().name(), 2, Duration.ofSeconds(60), Duration.ofSeconds(1));
        Map<String, ImageResult> resultById = results.stream()
                .map(TOPICS.results()::valueOf)
                .collect(Collectors.toMap(r -> r.getRequestId(), r -> r));
        assertEquals(Set.of("c-0", "c-1"), resultById.keySet());
        assertEquals(
                byId.get("c-0").getText(), resultById.get("c-0").getCaption().getText());
        assertEquals(
                "no labels of fashion-cnn within 3000 ms", resultById.get("c-0").getMissingReason());
    }

    private static ProducerRecord<byte[], byte[]> record(String key, byte[] value) {
        return new ProducerRecord<>(TOPICS.features().name(), key.getBytes(StandardCharsets.UTF_8), value);
    }
}
