package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ClassifyRequest;
import io.streamvision.proto.vision.v1.Label;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import io.streamvision.testing.OnnxGraphs;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Real photographs (training/photo_fixtures.py) through the gRPC Classify path: decode, resize,
 * crop and normalise in the scoring service, then a probe model whose "probabilities" are every
 * {@value #STEP}th value of its input tensor, so the answer shows the tensor the service made.
 * Those values agree with torchvision's ImageNet recipe on PIL's decode within 2/255 each (and
 * 0.5/255 on average), for colour management {@code none} and {@code srgb}.
 */
@QuarkusTest
@TestProfile(PhotoClassifyIT.ProbeProfile.class)
class PhotoClassifyIT {

    static final int STEP = 151;
    static final int PLANE = 224 * 224;
    static final int PROBES = (3 * PLANE + STEP - 1) / STEP;
    static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    static final float[] STD = {0.229f, 0.224f, 0.225f};
    static final Path PHOTOS =
            io.streamvision.testing.TestModels.root().resolve("libs/media/src/test/resources/photos");

    /**
     * Serves the two probe models (colour management none and srgb) from a repository made here.
     */
    public static class ProbeProfile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path repo = Files.createTempDirectory("photo-probe-");
                byte[] onnx = probeModel();
                // probe-none-uint8: probe-none taking UINT8 pixels, which Classify then sends.
                for (String name : List.of("none", "srgb", "none-uint8")) {
                    String mode = name.startsWith("none") ? "none" : "srgb";
                    boolean uint8 = name.endsWith("uint8");
                    Path version = Files.createDirectories(repo.resolve("probe-" + name + "/1"));
                    Files.write(version.resolve("model.onnx"), onnx);
                    StringBuilder labels = new StringBuilder();
                    for (int i = 0; i < PROBES; i++) {
                        labels.append(i == 0 ? "" : ",").append('"').append(i).append('"');
                    }
                    Files.writeString(version.resolve("config.json"), """
                            {"name": "probe-%s", "version": 1, "platform": "onnxruntime_onnx", "file": "model.onnx",
                             "task": "classification",
                             "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 3, 224, 224], "layout": "NCHW",
                                         "colour": "RGB", "resize": {"policy": "shorter-side-crop", "width": 224,
                                         "height": 224, "shorter_side": 256}, "scale": 255.0,
                                         "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                                         "accepts_uint8": %s, "colour_management": "%s"}],
                             "outputs": [{"name": "probe", "datatype": "FP32", "shape": [-1, %d], "role": "probabilities"}],
                             "labels": [%s],
                             "batching": {"max_batch_size": 4, "max_queue_delay_us": 0, "max_queue_size": 16}}
                            """.formatted(name, uint8, mode, PROBES, labels));
                }
                return Map.of(
                        "vision.scoring.models-dir",
                        repo.toString(),
                        "vision.scoring.models",
                        "probe-none,probe-srgb,probe-none-uint8",
                        "vision.scoring.kafka.enabled",
                        "false");
            } catch (Exception e) {
                throw new IllegalStateException("Could not write the probe models", e);
            }
        }
    }

    /** probe = Slice(Flatten(input), start 0, step {@value #STEP}) along the flattened axis. */
    static byte[] probeModel() {
        byte[] flatten =
                OnnxGraphs.node("Flatten", List.of("input"), List.of("flat"), OnnxGraphs.intAttribute("axis", 1));
        byte[] slice = OnnxGraphs.node("Slice", List.of("flat", "starts", "ends", "axes", "steps"), List.of("probe"));
        return OnnxGraphs.model(
                OnnxGraphs.graph(
                        "probe",
                        List.of(flatten, slice),
                        List.of(
                                OnnxGraphs.int64Initializer("starts", 0),
                                        OnnxGraphs.int64Initializer("ends", 3L * PLANE),
                                OnnxGraphs.int64Initializer("axes", 1), OnnxGraphs.int64Initializer("steps", STEP)),
                        List.of(OnnxGraphs.floatValue("input", "N", 3L, 224L, 224L)),
                        List.of(OnnxGraphs.floatValue("probe", "N", (long) PROBES))),
                13);
    }

    @GrpcClient("inference")
    VisionServiceGrpc.VisionServiceBlockingStub vision;

    @Test
    void classifyPreparesRealPhotographsAsTorchvisionDoes() throws Exception {
        JsonNode cases = new ObjectMapper()
                .readTree(PHOTOS.resolve("cases.json").toFile())
                .get("cases");
        for (JsonNode c : cases) {
            String file = c.get("file").asText();
            String mode = c.get("colour_management").asText();
            Classification answer = probe(file, "probe-" + mode);
            assertEquals(PROBES, answer.getLabelsCount(), file);
            if (mode.equals("none")) {
                assertEquals(
                        probes(answer),
                        probes(probe(file, "probe-none-uint8")),
                        file + ": UINT8 pixels normalised by the engine give the model the FP32 tensor's values");
            }
            BufferedImage reference =
                    ImageIO.read(PHOTOS.resolve(c.get("reference").asText()).toFile());
            double sum = 0;
            double max = 0;
            for (Label label : answer.getLabelsList()) {
                int position = label.getIndex() * STEP;
                int channel = position / PLANE;
                int pixel = position % PLANE;
                int rgb = reference.getRGB(pixel % 224, pixel / 224);
                int expected = (rgb >> (16 - 8 * channel)) & 0xFF;
                double actual = (label.getProbability() * STD[channel] + MEAN[channel]) * 255.0;
                double d = Math.abs(actual - expected);
                sum += d;
                max = Math.max(max, d);
            }
            double mean = sum / PROBES;
            System.out.printf(
                    "[photo via Classify] %-18s %-4s mean |diff| %.3f/255, max %.2f/255 over %d values%n",
                    file, mode, mean, max, PROBES);
            assertTrue(mean <= 0.5 && max <= 2.0, file + " " + mode + ": mean " + mean + ", max " + max);
        }
    }

    private Classification probe(String file, String model) throws Exception {
        return vision.classify(ClassifyRequest.newBuilder()
                        .setRequestId(file)
                        .setModelName(model)
                        .setTopK(PROBES)
                        .setImage(ByteString.copyFrom(Files.readAllBytes(PHOTOS.resolve(file))))
                        .build())
                .getClassification();
    }

    /** Each probed value by its index. */
    private static Map<Integer, Float> probes(Classification answer) {
        Map<Integer, Float> values = new TreeMap<>();
        answer.getLabelsList().forEach(l -> values.put(l.getIndex(), l.getProbability()));
        return values;
    }
}
