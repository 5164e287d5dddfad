package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ModelEvent;
import io.streamvision.rollout.Rollouts;
import io.streamvision.runtime.Classifications;
import io.streamvision.testing.KafkaBrokerTestResource;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import io.streamvision.testing.TestModels;
import java.net.URL;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * Rollouts on a running scoring service: fashion-cnn v1 serving, and as candidate v2 a different
 * network (the repository's LeNet under fashion-cnn's name), so the versions agree on some inputs
 * and not on others. A shadow's answers never reach anyone (gRPC or Kafka) and its agreement is
 * the one computed here by asking each version; a canary answers exactly the keys in its share; a
 * gate on agreement rolls the candidate back by itself and says why on the events topic; promotion
 * and rollback by hand move every answer.
 */
@QuarkusTest
@TestProfile(RolloutIT.Profile.class)
@QuarkusTestResource(KafkaBrokerTestResource.class)
class RolloutIT {

    static final Topics TOPICS = new Topics(".it-rollout");
    static Path repo;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                repo = Files.createTempDirectory("rollout-repo-");
                RolloutRepository.copyVersion(TestModels.dir().resolve("fashion-cnn/1"), repo.resolve("fashion-cnn/1"));
                Path v2 = repo.resolve("fashion-cnn/2");
                RolloutRepository.copyVersion(TestModels.dir().resolve("lenet/1"), v2);
                Files.writeString(
                        v2.resolve("config.json"),
                        Files.readString(v2.resolve("config.json"))
                                .replace("\"name\": \"lenet\"", "\"name\": \"fashion-cnn\"")
                                .replace("\"version\": 1", "\"version\": 2"));
                rollout("{\"serving\": 1, \"shadow\": {\"version\": 2}}");
                return Map.of(
                        "vision.kafka.topic-suffix", ".it-rollout",
                        "vision.scoring.models-dir", repo.toString(),
                        "vision.scoring.models", "fashion-cnn",
                        "vision.scoring.models-poll-seconds", "1",
                        "vision.scoring.kafka.transactional-id", "vision-scoring-it-rollout",
                        "vision.scoring.kafka.group-id", "vision-scoring-it-rollout");
            } catch (Exception e) {
                throw new IllegalStateException("Could not make the model repository", e);
            }
        }
    }

    @TestHTTPResource(value = "/", management = true)
    URL management;

    @TestHTTPResource("/")
    URL base;

    @GrpcClient("inference")
    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub inference;

    static void rollout(String json) throws java.io.IOException {
        RolloutRepository.writeRollout(repo.resolve("fashion-cnn"), json);
    }

    /** Inputs on which the two networks sometimes agree: stripes and blocks of several brightnesses. */
    static ModelInferRequest input(String id, int i) {
        return ScoringServiceIT.image(id, "fashion-cnn", -1f + (i % 21) / 10f);
    }

    @Test
    void shadowCanaryGatesAndPromotion() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        JsonNode state = awaitRollout(s -> s.path("comparison").isObject(), "the shadow rollout is read");
        assertEquals("ACTIVE", state.path("status").asText());
        assertEquals(2, state.path("candidate_version").asInt());

        // What each version answers, asked by name (requests naming a version are not compared).
        int n = 42;
        int agree = 0;
        for (int i = 0; i < n; i++) {
            String one = top1(inference.modelInfer(version(input("hand-" + i, i), "1")), "1");
            String two = top1(inference.modelInfer(version(input("hand-" + i, i), "2")), "2");
            agree += one.equals(two) ? 1 : 0;
        }
        assertTrue(agree > 0 && agree < n, "a useful mix: " + agree + " of " + n + " agree");

        // Shadow over gRPC: every answer is v1's; the comparison equals the one computed above.
        // One request at a time, each paired before the next, so none finds the shadow thread busy.
        for (int i = 0; i < n; i++) {
            assertEquals("1", inference.modelInfer(input("shadow-" + i, i)).getModelVersion());
            long want = i + 1;
            awaitRollout(s -> s.path("comparison").path("pairs").asLong() >= want, want + " pairs");
        }
        JsonNode compared = awaitRollout(s -> s.path("comparison").path("pairs").asLong() >= n, n + " pairs")
                .path("comparison");
        assertEquals(n, compared.path("pairs").asLong());
        assertEquals(agree / (double) n, compared.path("top1_agreement").asDouble(), 1e-9);
        assertEquals(0, compared.path("shadow_skipped").asLong());

        // Shadow over Kafka: every result is v1's, none of v2's reaches the scores topic.
        String bootstrap = TestBrokers.bootstrapServers();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        int k = 60;
        for (int i = 0; i < k; i++) {
            records.add(new ProducerRecord<>(
                    TOPICS.tensors("fashion-cnn").name(),
                    ("kafka-" + i).getBytes(StandardCharsets.UTF_8),
                    input("kafka-" + i, i).toByteArray()));
        }
        TestClients.send(bootstrap, records);
        List<ConsumerRecord<byte[], byte[]>> scores =
                TestClients.read(bootstrap, TOPICS.scores().name(), k, Duration.ofSeconds(60), Duration.ofSeconds(2));
        assertEquals(k, scores.size(), "one result per record");
        for (ConsumerRecord<byte[], byte[]> record : scores) {
            assertEquals("1", TOPICS.scores().valueOf(record).getModelVersion());
        }
        // Shadow work never holds up serving: a batch that finds the shadow thread's few queued batches
        // full is counted as skipped, not paired (a slow machine skips some of these 60 records).
        JsonNode kafkaCompared = awaitRollout(
                        s -> s.path("comparison").path("pairs").asLong()
                                        + s.path("comparison")
                                                .path("shadow_skipped")
                                                .asLong()
                                >= n + k,
                        "Kafka batches paired or counted as skipped")
                .path("comparison");
        assertEquals(
                n + k,
                kafkaCompared.path("pairs").asLong()
                        + kafkaCompared.path("shadow_skipped").asLong(),
                kafkaCompared.toString());
        assertTrue(kafkaCompared.path("pairs").asLong() > n, "Kafka batches paired too: " + kafkaCompared);

        // Canary at 25 %: exactly the keys in its share get v2, over gRPC and Kafka alike.
        rollout("{\"serving\": 1, \"canary\": {\"version\": 2, \"percent\": 25}}");
        awaitRollout(s -> s.path("percent").asDouble() == 25.0, "the canary is read");
        int toCandidate = 0;
        Map<String, String> expected = new HashMap<>();
        for (int i = 0; i < 200; i++) {
            String id = "canary-" + i;
            String want = Rollouts.bucket(id) < 2500 ? "2" : "1";
            expected.put(id, want);
            toCandidate += want.equals("2") ? 1 : 0;
            assertEquals(want, inference.modelInfer(input(id, i)).getModelVersion(), id);
        }
        assertTrue(toCandidate > 20 && toCandidate < 80, toCandidate + " of 200 keys in the share");
        records.clear();
        for (int i = 0; i < 200; i++) {
            records.add(new ProducerRecord<>(
                    TOPICS.tensors("fashion-cnn").name(),
                    ("canary-" + i).getBytes(StandardCharsets.UTF_8),
                    input("canary-" + i, i).toByteArray()));
        }
        TestClients.send(bootstrap, records);
        List<ConsumerRecord<byte[], byte[]>> canary = TestClients.read(
                bootstrap, TOPICS.scores().name(), k + 200, Duration.ofSeconds(60), Duration.ofSeconds(2));
        assertEquals(k + 200, canary.size());
        int checked = 0;
        for (ConsumerRecord<byte[], byte[]> record : canary) {
            Classification c = TOPICS.scores().valueOf(record);
            if (c.getRequestId().startsWith("canary-")) {
                assertEquals(expected.get(c.getRequestId()), c.getModelVersion(), c.getRequestId());
                checked++;
            }
        }
        assertEquals(200, checked);

        // A gate the candidate cannot pass: rolled back by itself, with the reason, on the events topic.
        rollout("{\"serving\": 1, \"canary\": {\"version\": 2, \"percent\": 25}, \"gates\": {\"min_agreement\":"
                + " 0.98, \"min_pairs\": 30}}");
        awaitRollout(s -> s.path("settings").path("gates").path("min_pairs").asLong() == 30, "the gates are read");
        for (int i = 0; i < 40; i++) {
            inference.modelInfer(input("gate-" + i, i));
        }
        JsonNode rolledBack = awaitRollout(s -> s.path("status").asText().equals("ROLLED_BACK"), "rolled back");
        assertTrue(rolledBack.path("reason").asText().contains("top-1 agreement"), rolledBack.toString());
        for (int i = 0; i < 50; i++) {
            assertEquals("1", inference.modelInfer(input("after-" + i, i)).getModelVersion());
        }
        List<ModelEvent> events = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r :
                TestClients.read(bootstrap, TOPICS.modelEvents().name(), 100, Duration.ofSeconds(5), Duration.ZERO)) {
            events.add(ModelEvent.parseFrom(r.value()));
        }
        ModelEvent last = events.get(events.size() - 1);
        assertEquals("rolled_back", last.getType(), events.toString());
        assertTrue(last.getReason().contains("agreement"), last.getReason());
        assertTrue(last.getFigures().getPairs() >= 30);
        String metrics = ServiceProcess.get(management.getPort(), "/q/metrics");
        assertTrue(
                metrics.contains("vision_rollout_status{model=\"fashion-cnn\"} 3.0"),
                "status 3, rolled back: "
                        + metrics.lines()
                                .filter(l -> l.startsWith("vision_rollout"))
                                .toList());

        // By hand: a fresh shadow rollout, promoted; then rolled back.
        rollout("{\"serving\": 1, \"shadow\": {\"version\": 2, \"sample\": 2}}");
        awaitRollout(s -> s.path("status").asText().equals("ACTIVE"), "a new rollout starts afresh");
        assertEquals(
                200,
                post("v2/models/fashion-cnn/rollout/promote", "{\"reason\": \"checked by hand\"}")
                        .statusCode());
        for (int i = 0; i < 20; i++) {
            assertEquals("2", inference.modelInfer(input("promoted-" + i, i)).getModelVersion());
        }
        assertEquals(200, post("v2/models/fashion-cnn/rollout/rollback", "").statusCode());
        for (int i = 0; i < 20; i++) {
            assertEquals("1", inference.modelInfer(input("back-" + i, i)).getModelVersion());
        }
        assertEquals(404, post("v2/models/no-such-model/rollout/promote", "").statusCode());
        Files.delete(repo.resolve("fashion-cnn/rollout.json"));
        awaitRolloutGone();
        assertFalse(get(base + "v2/rollouts").body().contains("fashion-cnn"));
    }

    private static ModelInferRequest version(ModelInferRequest request, String version) {
        return request.toBuilder().setModelVersion(version).build();
    }

    private static final Map<String, io.streamvision.model.ModelConfig> CONFIGS = new HashMap<>();

    private static String top1(ModelInferResponse response, String version) {
        io.streamvision.model.ModelConfig config = CONFIGS.computeIfAbsent(
                version,
                v -> new io.streamvision.model.ModelRepository(repo).config("fashion-cnn", Integer.parseInt(v)));
        return Classifications.fromResponse(config, ModelInferRequest.getDefaultInstance(), response, 1)
                .getLabels(0)
                .getLabel();
    }

    private JsonNode awaitRollout(Predicate<JsonNode> condition, String what) throws Exception {
        return RolloutRepository.awaitRollout(base, "fashion-cnn", condition, what);
    }

    private void awaitRolloutGone() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (get(base + "v2/models/fashion-cnn/rollout").statusCode() != 404) {
            assertTrue(System.nanoTime() < deadline, "the rollout ends with its file");
            Thread.sleep(100);
        }
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return RolloutRepository.get(url);
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return RolloutRepository.post(base + path, body);
    }
}
