package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Exactly once across a crash for the captioning loop: the packaged service is killed with SIGKILL
 * part-way through 2,000 feature records and started again with the same transactional id; every
 * input then has exactly one caption in read_committed.
 */
@ExtendWith(KafkaBrokerExtension.class)
class CaptioningKillRecoveryProcessIT {

    static final int RECORDS = 2000;
    static final String SUFFIX = ".it-caption-kill";

    private Process start(TestBroker broker, Path log) throws Exception {
        String models = TestModels.dir().toString();
        return ServiceProcess.start(
                Path.of("target/quarkus-app/quarkus-run.jar"),
                Map.of(
                        "kafka.bootstrap.servers", broker.bootstrapServers(),
                        "vision.kafka.topic-suffix", SUFFIX,
                        "vision.captioning.models-dir", models,
                        "vision.captioning.kafka.transactional-id", "vision-captioning-kill-test",
                        "vision.captioning.kafka.group-id", "vision-captioning-kill-test",
                        "vision.captioning.kafka.max-poll-records", "16",
                        "quarkus.http.port", "0",
                        "quarkus.management.port", "0",
                        "quarkus.grpc.server.port", "0"),
                log);
    }

    @Test
    void everyInputHasExactlyOneCaptionAfterAKillDashNine() throws Exception {
        TestBroker broker = TestBrokers.shared();
        System.out.println("[caption kill -9 IT] talking to Kafka at " + broker.bootstrapServers());
        Topics topics = new Topics(SUFFIX);
        String models = TestModels.dir().toString();
        JsonNode scenes = new ObjectMapper()
                .readTree(Path.of(models, "caption-decoder/1/fixtures/greedy.json")
                        .toFile())
                .get("fixtures");
        List<byte[]> vectors = new ArrayList<>();
        for (JsonNode scene : scenes) {
            ByteBuffer raw =
                    ByteBuffer.allocate(scene.get("features").size() * 4).order(ByteOrder.LITTLE_ENDIAN);
            scene.get("features").forEach(v -> raw.putFloat((float) v.asDouble()));
            vectors.add(raw.array());
        }
        Path log1 = Path.of("target/caption-kill-first-run.log");
        try (TopicCollector captions = broker.collect(topics.captions().name())) {
            Process first = start(broker, log1);
            try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
                for (int i = 0; i < RECORDS; i++) {
                    String id = "cap-" + i;
                    byte[] vector = vectors.get(i % vectors.size());
                    ModelInferResponse.Builder features = ModelInferResponse.newBuilder()
                            .setId(id)
                            .setModelName("caption-encoder")
                            .setModelVersion("1");
                    features.addOutputsBuilder()
                            .setName("features")
                            .setDatatype("FP32")
                            .addShape(1)
                            .addShape(vector.length / 4);
                    features.addRawOutputContents(ByteString.copyFrom(vector));
                    producer.send(new ProducerRecord<>(
                                    topics.features().name(),
                                    id.getBytes(StandardCharsets.UTF_8),
                                    features.build().toByteArray()))
                            .get();
                    if (i == 200) {
                        captions.awaitAtLeast(100, Duration.ofSeconds(120));
                    }
                    if (i == 400) {
                        int atKill = captions.records().size();
                        first.destroyForcibly().waitFor();
                        System.out.printf(
                                "[caption kill -9 IT] killed with %d captions committed, %d inputs sent%n",
                                atKill, i + 1);
                        assertTrue(atKill > 0 && atKill < RECORDS, "killed part-way; see " + log1);
                    }
                }
            }
            Process second = start(broker, Path.of("target/caption-kill-second-run.log"));
            try {
                captions.awaitAtLeast(RECORDS, Duration.ofSeconds(180));
                Thread.sleep(3000);
                Map<String, Integer> counts = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> record : captions.records()) {
                    counts.merge(Caption.parseFrom(record.value()).getRequestId(), 1, Integer::sum);
                }
                long missing = 0;
                long duplicated = 0;
                for (int i = 0; i < RECORDS; i++) {
                    int n = counts.getOrDefault("cap-" + i, 0);
                    missing += n == 0 ? 1 : 0;
                    duplicated += n > 1 ? 1 : 0;
                }
                System.out.printf(
                        "[caption kill -9 IT] %d captions for %d inputs, %d missing, %d duplicated%n",
                        captions.records().size(), RECORDS, missing, duplicated);
                assertEquals(0, missing, "no input is lost");
                assertEquals(0, duplicated, "no input is captioned twice");
                assertEquals(RECORDS, captions.records().size());
            } finally {
                second.destroy();
                second.waitFor();
            }
        }
    }
}
