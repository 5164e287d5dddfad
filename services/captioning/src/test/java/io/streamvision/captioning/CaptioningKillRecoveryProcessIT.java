package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.testing.ExactlyOnce;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
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
                ".",
                ServiceProcess.settings(
                        broker.bootstrapServers(),
                        SUFFIX,
                        Map.of(
                                "vision.captioning.models-dir", models,
                                "vision.captioning.kafka.transactional-id", "vision-captioning-kill-test",
                                "vision.captioning.kafka.group-id", "vision-captioning-kill-test",
                                "vision.captioning.kafka.max-poll-records", "16")),
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
        Path log1 = Path.of("target/caption-kill-first-run.log");
        try (TopicCollector captions = broker.collect(topics.captions().name())) {
            Process first = start(broker, log1);
            try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
                for (int i = 0; i < RECORDS; i++) {
                    String id = "cap-" + i;
                    ModelInferResponse features = CaptioningServiceIT.features(
                            id, "caption-encoder", scenes.get(i % scenes.size()).get("features"));
                    producer.send(new ProducerRecord<>(
                                    topics.features().name(),
                                    id.getBytes(StandardCharsets.UTF_8),
                                    features.toByteArray()))
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
                List<String> outputIds = new ArrayList<>();
                for (ConsumerRecord<byte[], byte[]> record : captions.records()) {
                    outputIds.add(Caption.parseFrom(record.value()).getRequestId());
                }
                ExactlyOnce check = ExactlyOnce.of(
                        IntStream.range(0, RECORDS).mapToObj(i -> "cap-" + i).toList(), outputIds);
                System.out.println("[caption kill -9 IT] captions: " + check.summary());
                check.assertExactlyOnce();
            } finally {
                second.destroy();
                second.waitFor();
            }
        }
    }
}
