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
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import io.streamvision.testing.DetectionReference;
import io.streamvision.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The real COCO detector ({@code models/centernet}) on the real photographs of {@code
 * samples/photos} through the gRPC Classify path: decoded, letterboxed and sent as UINT8 by the
 * scoring service, its boxes mapped back to each photograph's pixels. The answers are the model
 * kit's reference detections (ONNX Runtime on the kit's tensors, itself checked against the
 * original TF.js model): same classes above the threshold, scores within 0.01, box edges within 2
 * pixels.
 */
@QuarkusTest
@TestProfile(PhotoDetectIT.DetectorProfile.class)
class PhotoDetectIT {

    /** Serves the shipped detector alone, without Kafka. */
    public static class DetectorProfile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("vision.scoring.models", "centernet,fashion-cnn", "vision.scoring.kafka.enabled", "false");
        }
    }

    @GrpcClient("inference")
    VisionServiceGrpc.VisionServiceBlockingStub vision;

    @Test
    void classifyFindsTheObjectsOfTheKitReferenceInRealPhotographs() throws Exception {
        DetectionReference reference = DetectionReference.read(TestModels.dir().resolve("centernet/1"));
        assertTrue(reference.images().size() >= 10, "at least ten photographs");
        List<String> differences = new ArrayList<>();
        int objects = 0;
        for (DetectionReference.Image image : reference.images()) {
            byte[] bytes = Files.readAllBytes(TestModels.root().resolve(image.file()));
            Classification answer = vision.classify(ClassifyRequest.newBuilder()
                            .setRequestId(image.file())
                            .setModelName("centernet")
                            .setImage(ByteString.copyFrom(bytes))
                            .build())
                    .getClassification();
            assertEquals(image.width(), answer.getImageWidth(), image.file());
            assertEquals(image.height(), answer.getImageHeight(), image.file());
            List<DetectionReference.Found> found = found(answer);
            objects += found.size();
            System.out.printf("[detect via Classify] %-26s %s%n", image.file(), found);
            differences.addAll(reference.differences(image, found, 0.02f, 0.01f, 2f));
        }
        assertTrue(differences.isEmpty(), String.join("\n", differences));
        assertTrue(objects >= 20, "the photographs hold people, animals, vehicles and a cup: " + objects);
    }

    @Test
    void aTwelveMegapixelPhotographGivesTheSameObjectsInItsOwnPixels() throws Exception {
        DetectionReference reference = DetectionReference.read(TestModels.dir().resolve("centernet/1"));
        DetectionReference.Image horses = reference.images().stream()
                .filter(i -> i.file().endsWith("horses.jpg"))
                .findFirst()
                .orElseThrow();
        // The photograph scaled to 4,000 x 2,650 (10.6 megapixels), as a phone would save it.
        java.awt.image.BufferedImage small = javax.imageio.ImageIO.read(
                TestModels.root().resolve(horses.file()).toFile());
        int width = 4000;
        int height = Math.round(4000f * small.getHeight() / small.getWidth());
        java.awt.image.BufferedImage large =
                new java.awt.image.BufferedImage(width, height, java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = large.createGraphics();
        g.setRenderingHint(
                java.awt.RenderingHints.KEY_INTERPOLATION, java.awt.RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(small, 0, 0, width, height, null);
        g.dispose();
        java.io.ByteArrayOutputStream jpeg = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(large, "jpg", jpeg);
        long start = System.nanoTime();
        Classification answer = vision.classify(ClassifyRequest.newBuilder()
                        .setModelName("centernet")
                        .setImage(ByteString.copyFrom(jpeg.toByteArray()))
                        .build())
                .getClassification();
        System.out.printf(
                "[detect via Classify] %dx%d JPEG of %d bytes in %.0f ms: %s%n",
                width, height, jpeg.size(), (System.nanoTime() - start) / 1e6, found(answer));
        assertEquals(width, answer.getImageWidth());
        assertEquals(height, answer.getImageHeight());
        double scale = (double) width / horses.width();
        for (DetectionReference.Found horse : horses.detections()) {
            if (horse.score() < 0.5f) {
                continue; // near the threshold a resampled picture may move it across
            }
            assertTrue(
                    found(answer).stream()
                            .anyMatch(f -> f.index() == horse.index()
                                    && Math.abs(f.x1() - horse.x1() * scale) < 12 * scale
                                    && Math.abs(f.x2() - horse.x2() * scale) < 12 * scale
                                    && Math.abs(f.y1() - horse.y1() * scale) < 12 * scale
                                    && Math.abs(f.y2() - horse.y2() * scale) < 12 * scale),
                    horse + " at " + scale + "x in " + found(answer));
        }
    }

    @Test
    void photographsAsPhonesSaveThemGiveTheObjectsOfTheJpeg() throws Exception {
        DetectionReference reference = DetectionReference.read(TestModels.dir().resolve("centernet/1"));
        DetectionReference.Found cat = reference.images().stream()
                .filter(i -> i.file().endsWith("chelsea.jpg"))
                .findFirst()
                .orElseThrow()
                .detections()
                .get(0);
        assertEquals("cat", cat.label());
        Path formats = TestModels.root().resolve("libs/media/src/test/resources/phone-formats");
        for (String file : List.of("chelsea.heic", "chelsea.avif", "chelsea.mpo")) {
            Classification answer = vision.classify(ClassifyRequest.newBuilder()
                            .setModelName("centernet")
                            .setImage(ByteString.copyFrom(Files.readAllBytes(formats.resolve(file))))
                            .build())
                    .getClassification();
            List<DetectionReference.Found> found = found(answer);
            System.out.printf("[detect via Classify] %-26s %s%n", file, found);
            assertEquals(cat.label(), found.get(0).label(), file + ": " + found);
            assertTrue(Math.abs(found.get(0).score() - cat.score()) < 0.05, file + ": " + found.get(0));
            assertTrue(iou(found.get(0), cat) > 0.9, file + ": " + found.get(0) + " against " + cat);
        }
    }

    @Test
    void photographsAreOutOfFashionCnnsDomainAndItsItemsIn() throws Exception {
        JsonNode fixture = new ObjectMapper()
                .readTree(TestModels.dir()
                        .resolve("fashion-cnn/1/fixtures/ood.json")
                        .toFile());
        int photographs = 0;
        for (JsonNode image : fixture.get("images")) {
            String file = image.get("file").asText();
            Classification answer = vision.classify(ClassifyRequest.newBuilder()
                            .setModelName("fashion-cnn")
                            .setImage(ByteString.copyFrom(
                                    Files.readAllBytes(TestModels.root().resolve(file))))
                            .build())
                    .getClassification();
            double expected = image.get("score").asDouble();
            System.out.printf(
                    "[fashion-cnn via Classify] %-40s %s %.1f%%, domain score %.4g (kit %.4g), %s%n",
                    file,
                    answer.getLabels(0).getLabel(),
                    100 * answer.getLabels(0).getProbability(),
                    answer.getDomainScore(),
                    expected,
                    answer.getOutOfDomain() ? "OUT OF DOMAIN" : "in domain");
            assertEquals(expected, answer.getDomainScore(), Math.abs(expected) * 1e-3, file);
            assertEquals(image.get("out_of_domain").asBoolean(), answer.getOutOfDomain(), file);
            assertEquals(fixture.get("threshold").asDouble(), answer.getDomainThreshold(), 1e-6);
            if (file.startsWith("samples/photos/")) {
                assertTrue(answer.getOutOfDomain(), file + " is no Fashion-MNIST item");
                photographs++;
            }
            if (file.startsWith("samples/items/")) {
                assertTrue(!answer.getOutOfDomain(), file + " is one");
            }
        }
        assertEquals(3, photographs, "the cat, the person with a dog and a horse, the rocket");
    }

    /** Intersection over union of two boxes. */
    static double iou(DetectionReference.Found a, DetectionReference.Found b) {
        double w = Math.min(a.x2(), b.x2()) - Math.max(a.x1(), b.x1());
        double h = Math.min(a.y2(), b.y2()) - Math.max(a.y1(), b.y1());
        if (w <= 0 || h <= 0) {
            return 0;
        }
        double inter = w * h;
        return inter / ((a.x2() - a.x1()) * (a.y2() - a.y1()) + (b.x2() - b.x1()) * (b.y2() - b.y1()) - inter);
    }

    /** A Classify answer's objects in the reference's terms. */
    static List<DetectionReference.Found> found(Classification answer) {
        List<DetectionReference.Found> out = new ArrayList<>();
        for (Detection d : answer.getDetectionsList()) {
            out.add(new DetectionReference.Found(
                    d.getIndex(),
                    d.getLabel(),
                    d.getScore(),
                    d.getBox().getXMin(),
                    d.getBox().getYMin(),
                    d.getBox().getXMax(),
                    d.getBox().getYMax()));
        }
        return out;
    }
}
