package io.streamvision.scoring;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.testing.KafkaBrokerTestResource;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import io.streamvision.testing.TestModels;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * A model configured to dead-letter out-of-domain inputs ({@code "dead_letter": true}): on the Kafka
 * path the cat photograph becomes a dead letter with reason OUT_OF_DOMAIN and the score in its
 * message, a sample item is scored as usual, and the metric counts the one out-of-domain answer.
 */
@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
@TestProfile(OutOfDomainDeadLetterIT.DeadLetterProfile.class)
class OutOfDomainDeadLetterIT {

    static final Topics TOPICS = new Topics(".it-ood");

    /** fashion-cnn as shipped, but dead-lettering what it was not trained on. */
    public static class DeadLetterProfile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path repo = Files.createTempDirectory("ood-repo-");
                Path source = TestModels.dir().resolve("fashion-cnn/1");
                Path version = Files.createDirectories(repo.resolve("fashion-cnn/1"));
                try (var files = Files.list(source)) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        Files.copy(f, version.resolve(f.getFileName()));
                    }
                }
                String config = Files.readString(version.resolve("config.json"));
                Files.writeString(
                        version.resolve("config.json"),
                        config.replace("\"dead_letter\": false", "\"dead_letter\": true"));
                return Map.of(
                        "vision.kafka.topic-suffix", ".it-ood",
                        "vision.scoring.models-dir", repo.toString(),
                        "vision.scoring.models", "fashion-cnn",
                        "vision.scoring.kafka.transactional-id", "vision-scoring-it-ood",
                        "vision.scoring.kafka.group-id", "vision-scoring-it-ood");
            } catch (Exception e) {
                throw new IllegalStateException("Could not make the model repository", e);
            }
        }
    }

    @TestHTTPResource(value = "/", management = true)
    URL management;

    @Test
    void outOfDomainInputsBecomeDeadLettersAndAreCounted() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        ModelConfig config =
                new ModelRepository(TestModels.dir()).latest("fashion-cnn").orElseThrow();
        assertTrue(config.outOfDomain() != null);
        ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT, 0);
        String bootstrap = TestBrokers.bootstrapServers();
        List<ProducerRecord<byte[], byte[]>> records = new java.util.ArrayList<>();
        for (String file : List.of("samples/photos/chelsea.jpg", "samples/items/8-bag-test18.png")) {
            String id = Path.of(file).getFileName().toString();
            var tensor = TensorPreparer.prepare(
                    decoder.decode(Files.readAllBytes(TestModels.root().resolve(file))), config.imageInput(), true);
            records.add(new ProducerRecord<>(
                    TOPICS.tensors("fashion-cnn").name(),
                    id.getBytes(StandardCharsets.UTF_8),
                    tensor.toInferRequest(id, config).build().toByteArray()));
        }
        TestClients.send(bootstrap, records);

        List<ConsumerRecord<byte[], byte[]>> letters = TestClients.read(
                bootstrap, TOPICS.deadLetters().name(), 1, Duration.ofSeconds(60), Duration.ofSeconds(1));
        assertEquals(1, letters.size());
        DeadLetter letter = TOPICS.deadLetters().valueOf(letters.get(0));
        assertEquals(ReasonCode.OUT_OF_DOMAIN, letter.getReason());
        assertEquals("chelsea.jpg", letter.getOriginalKey().toStringUtf8());
        assertTrue(letter.getMessage().contains("not trained on inputs like this"), letter.getMessage());
        assertTrue(letter.getMessage().contains("above its threshold"), letter.getMessage());

        List<ConsumerRecord<byte[], byte[]>> scores =
                TestClients.read(bootstrap, TOPICS.scores().name(), 1, Duration.ofSeconds(60), Duration.ofSeconds(1));
        assertEquals(1, scores.size(), "only the item is scored");
        Classification item = TOPICS.scores().valueOf(scores.get(0));
        assertEquals("8-bag-test18.png", item.getRequestId());
        assertFalse(item.getOutOfDomain());
        assertTrue(item.getDomainScore() > 0 && item.getDomainScore() < item.getDomainThreshold(), item.toString());

        String metrics = given().get("http://localhost:" + management.getPort() + "/q/metrics")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        assertTrue(
                metrics.lines()
                        .anyMatch(l -> l.startsWith("vision_inference_out_of_domain_total{")
                                && l.contains("model=\"fashion-cnn\"")
                                && l.endsWith(" 1.0")),
                "the drift counter: "
                        + metrics.lines()
                                .filter(l -> l.contains("out_of_domain"))
                                .toList());
    }
}
