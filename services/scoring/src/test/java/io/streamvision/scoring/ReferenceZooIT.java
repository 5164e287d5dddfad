package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.scoring.bench.ZooRepository;
import io.streamvision.testing.KafkaBrokerTestResource;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The lecture's architectures (AlexNet, VGG-16, GoogLeNet, Inception v3, ResNet-50, MobileNetV2,
 * SqueezeNet; random weights) served through ModelInfer agree with PyTorch's saved outputs within
 * 1e-4 relative. The zoo is made on demand by {@code training/make-zoo.sh} into {@code
 * $VISION_ZOO_DIR} (default {@code ~/.cache/vision-zoo}); without it the test is skipped and says
 * so.
 */
@QuarkusTest
@TestProfile(ReferenceZooIT.ZooProfile.class)
@QuarkusTestResource(KafkaBrokerTestResource.class)
class ReferenceZooIT {

    static Path zooDir() {
        String dir =
                System.getenv().getOrDefault("VISION_ZOO_DIR", System.getProperty("user.home") + "/.cache/vision-zoo");
        return Path.of(dir);
    }

    /** Serves every zoo model present, and nothing else. */
    public static class ZooProfile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path index = zooDir().resolve("index.json");
            if (!Files.isRegularFile(index)) {
                return Map.of("vision.scoring.models-dir", "target/no-zoo", "vision.scoring.kafka.enabled", "false");
            }
            try {
                Path repo = Files.createTempDirectory("zoo-it-");
                List<String> names = new ArrayList<>();
                for (JsonNode model :
                        new ObjectMapper().readTree(index.toFile()).get("models")) {
                    String name = model.get("name").asText();
                    ZooRepository.add(
                            repo,
                            zooDir().resolve(name).resolve(model.get("file").asText()),
                            name);
                    names.add(name);
                }
                return Map.of(
                        "vision.scoring.models-dir",
                        repo.toString(),
                        "vision.scoring.models",
                        String.join(",", names),
                        "vision.scoring.kafka.enabled",
                        "false");
            } catch (Exception e) {
                throw new IllegalStateException("Could not wrap the reference zoo at " + zooDir(), e);
            }
        }
    }

    @GrpcClient("inference")
    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub inference;

    @Test
    void modelInferMatchesPyTorchOnEveryZooModel() throws Exception {
        Path index = zooDir().resolve("index.json");
        Assumptions.assumeTrue(
                Files.isRegularFile(index),
                "reference zoo not found at "
                        + zooDir()
                        + "; build it with training/make-zoo.sh (needs the Debian PyTorch packages) to run this check");
        JsonNode models = new ObjectMapper().readTree(index.toFile()).get("models");
        assertTrue(models.size() > 0);
        for (JsonNode model : models) {
            String name = model.get("name").asText();
            double worst = 0;
            for (JsonNode c : model.get("cases")) {
                byte[] input = Files.readAllBytes(
                        zooDir().resolve(name).resolve(c.get("input").asText()));
                byte[] expectedBytes = Files.readAllBytes(
                        zooDir().resolve(name).resolve(c.get("output").asText()));
                ModelInferRequest.Builder request =
                        ModelInferRequest.newBuilder().setModelName(name).setId(name);
                var tensor = request.addInputsBuilder()
                        .setName(model.get("input").get("name").asText())
                        .setDatatype("FP32");
                c.get("input_shape").forEach(d -> tensor.addShape(d.asLong()));
                request.addRawInputContents(ByteString.copyFrom(input));
                ModelInferResponse response = inference.modelInfer(request.build());
                FloatBuffer got = response.getRawOutputContents(0)
                        .asReadOnlyByteBuffer()
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer();
                FloatBuffer want = ByteBuffer.wrap(expectedBytes)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer();
                assertEquals(want.remaining(), got.remaining(), name + " output size");
                double scale = 0;
                for (int i = 0; i < want.remaining(); i++) {
                    scale = Math.max(scale, Math.abs(want.get(i)));
                }
                for (int i = 0; i < want.remaining(); i++) {
                    double relative = Math.abs(got.get(i) - want.get(i)) / Math.max(scale, 1e-6);
                    worst = Math.max(worst, relative);
                }
            }
            System.out.printf(
                    "[zoo] %s: ModelInfer vs PyTorch, max difference %.2e of the output's range%n", name, worst);
            assertTrue(worst <= 1e-4, name + ": max relative difference " + worst);
        }
    }
}
