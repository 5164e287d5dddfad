package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ClassifyRequest;
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import io.streamvision.testing.DetectionReference;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestModels;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * A rollout of the real COCO detector on the real photographs of {@code samples/photos}: as
 * candidate, the same network with its score threshold raised from 0.3 to 0.6 (a configuration
 * change a user might roll out), so it finds a subset of the serving version's objects in the same
 * boxes. The shadow's detection agreement is the one computed here from each version's own answers
 * (asked by version, not compared): per photograph 2 × objects both found / (objects of one +
 * objects of the other), their boxes overlapping fully; a gate on agreement then rolls the
 * candidate back and says it was the detection agreement.
 */
@QuarkusTest
@TestProfile(DetectorRolloutIT.Profile.class)
class DetectorRolloutIT {

    static Path repo;

    /** Serves the detector from a repository of two versions, without Kafka. */
    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                repo = Files.createTempDirectory("detector-rollout-repo-");
                RolloutRepository.copyVersion(TestModels.dir().resolve("centernet/1"), repo.resolve("centernet/1"));
                Path v2 = repo.resolve("centernet/2");
                RolloutRepository.copyVersion(TestModels.dir().resolve("centernet/1"), v2);
                String config = Files.readString(v2.resolve("config.json"));
                String raised = config.replace("\"version\": 1", "\"version\": 2")
                        .replace("\"min_score\": 0.3", "\"min_score\": 0.6");
                if (raised.equals(config) || !raised.contains("\"min_score\": 0.6")) {
                    throw new IllegalStateException("centernet's config.json changed: " + config);
                }
                Files.writeString(v2.resolve("config.json"), raised);
                rollout("{\"serving\": 1, \"shadow\": {\"version\": 2}}");
                return Map.of(
                        "vision.scoring.models-dir", repo.toString(),
                        "vision.scoring.models", "centernet",
                        "vision.scoring.models-poll-seconds", "1",
                        "vision.scoring.kafka.enabled", "false");
            } catch (Exception e) {
                throw new IllegalStateException("Could not make the model repository", e);
            }
        }
    }

    @TestHTTPResource("/")
    URL base;

    @TestHTTPResource(value = "/", management = true)
    URL management;

    @GrpcClient("inference")
    VisionServiceGrpc.VisionServiceBlockingStub vision;

    static void rollout(String json) throws java.io.IOException {
        RolloutRepository.writeRollout(repo.resolve("centernet"), json);
    }

    @Test
    void theShadowDetectorsAgreementIsTheOneComputedFromEachVersionsAnswers() throws Exception {
        awaitRollout(s -> s.path("comparison").isObject(), "the shadow rollout is read");
        List<byte[]> photos = new ArrayList<>();
        for (DetectionReference.Image image :
                DetectionReference.read(TestModels.dir().resolve("centernet/1")).images()) {
            photos.add(Files.readAllBytes(TestModels.root().resolve(image.file())));
        }
        assertTrue(photos.size() >= 10, "at least ten photographs");

        // Each version asked by name: the candidate's objects are the serving version's above 0.6.
        double agreementSum = 0;
        int fewer = 0;
        for (int i = 0; i < photos.size(); i++) {
            List<Detection> one = classify("hand-" + i, photos.get(i), "1").getDetectionsList();
            List<Detection> two = classify("hand-" + i, photos.get(i), "2").getDetectionsList();
            for (Detection d : two) {
                assertTrue(
                        one.stream()
                                .anyMatch(o -> o.getLabel().equals(d.getLabel())
                                        && o.getBox().equals(d.getBox())),
                        "photograph " + i + ": " + d + " in " + one);
            }
            assertEquals(one.stream().filter(d -> d.getScore() >= 0.6f).count(), two.size(), "photograph " + i);
            agreementSum += one.isEmpty() && two.isEmpty() ? 1 : 2.0 * two.size() / (one.size() + two.size());
            fewer += two.size() < one.size() ? 1 : 0;
        }
        double expected = agreementSum / photos.size();
        assertTrue(fewer > 0 && expected < 0.99, "some objects between 0.3 and 0.6: agreement " + expected);

        // The shadow: every answer is v1's; each photograph paired before the next.
        for (int i = 0; i < photos.size(); i++) {
            assertEquals("1", classify("shadow-" + i, photos.get(i), "").getModelVersion());
            long want = i + 1;
            awaitRollout(s -> s.path("comparison").path("pairs").asLong() >= want, want + " pairs");
        }
        JsonNode compared = awaitRollout(
                        s -> s.path("comparison").path("pairs").asLong() == photos.size(), "every photograph paired")
                .path("comparison");
        System.out.printf("[detector rollout] computed by hand %.4f; shadow %s%n", expected, compared);
        assertEquals(photos.size(), compared.path("detected_images").asLong());
        assertEquals(0, compared.path("classified_rows").asLong());
        assertEquals(expected, compared.path("detection_agreement").asDouble(), 1e-9);
        assertEquals(1.0, compared.path("matched_iou").asDouble(), 1e-6, "the same boxes");
        String metrics = ServiceProcess.get(management.getPort(), "/q/metrics");
        assertTrue(
                metrics.lines()
                        .anyMatch(l -> l.startsWith("vision_rollout_detection_agreement{model=\"centernet\"}")
                                && Math.abs(Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)) - expected) < 1e-9),
                metrics.lines()
                        .filter(l -> l.startsWith("vision_rollout"))
                        .toList()
                        .toString());

        // A gate the candidate cannot pass: rolled back by itself, naming the detection agreement.
        rollout("{\"serving\": 1, \"shadow\": {\"version\": 2}, \"gates\": {\"min_agreement\": 0.99,"
                + " \"min_pairs\": " + photos.size() + "}}");
        awaitRollout(s -> s.path("settings").path("gates").path("min_pairs").asLong() == photos.size(), "gates read");
        for (int i = 0; i < photos.size(); i++) {
            classify("gate-" + i, photos.get(i), "");
        }
        JsonNode rolledBack = awaitRollout(s -> s.path("status").asText().equals("ROLLED_BACK"), "rolled back");
        assertTrue(rolledBack.path("reason").asText().contains("detection agreement"), rolledBack.toString());
        assertEquals("1", classify("after", photos.get(0), "").getModelVersion());
    }

    private Classification classify(String id, byte[] photo, String version) {
        return vision.classify(ClassifyRequest.newBuilder()
                        .setRequestId(id)
                        .setModelName("centernet")
                        .setModelVersion(version)
                        .setImage(ByteString.copyFrom(photo))
                        .build())
                .getClassification();
    }

    private JsonNode awaitRollout(Predicate<JsonNode> condition, String what) throws Exception {
        return RolloutRepository.awaitRollout(base, "centernet", condition, what);
    }
}
