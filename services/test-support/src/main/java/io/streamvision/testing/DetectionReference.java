package io.streamvision.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The detections the model kit's reference gives for the real photographs ({@code
 * models/centernet/1/fixtures/reference.json}: ONNX Runtime on the kit's own input tensors, checked
 * there against the original TF.js model), and the comparison the tests make with what a service
 * answered. Immutable.
 *
 * @param minScore the score threshold the reference applied
 * @param images the photographs, each with its objects
 */
public record DetectionReference(float minScore, List<Image> images) {

    /** One photograph: its path under the project root, its size and its objects. */
    public record Image(String file, int width, int height, List<Found> detections) {}

    /** One object: class, label, score and box in the photograph's pixels. */
    public record Found(int index, String label, float score, float x1, float y1, float x2, float y2) {

        @Override
        public String toString() {
            return String.format("%s %.3f [%.1f,%.1f-%.1f,%.1f]", label, score, x1, y1, x2, y2);
        }
    }

    /** Reads the reference of a detection model's version folder. */
    public static DetectionReference read(Path versionDir) throws IOException {
        JsonNode root = new ObjectMapper()
                .readTree(versionDir.resolve("fixtures/reference.json").toFile());
        List<Image> images = new ArrayList<>();
        for (JsonNode image : root.get("images")) {
            List<Found> found = new ArrayList<>();
            for (JsonNode d : image.get("detections")) {
                JsonNode box = d.get("box");
                found.add(new Found(
                        d.get("class_index").asInt(),
                        d.get("label").asText(),
                        (float) d.get("score").asDouble(),
                        (float) box.get(0).asDouble(),
                        (float) box.get(1).asDouble(),
                        (float) box.get(2).asDouble(),
                        (float) box.get(3).asDouble()));
            }
            images.add(new Image(
                    image.get("file").asText(),
                    image.get("width").asInt(),
                    image.get("height").asInt(),
                    found));
        }
        return new DetectionReference((float) root.get("min_score").asDouble(), images);
    }

    /**
     * What differs between the objects a service found and the reference's for one photograph:
     * every object scoring at least {@code margin} above the threshold on either side must have a
     * partner of the same class on the other, scores within {@code scoreTolerance} and each box edge
     * within {@code pixels}. Objects closer to the threshold may be on one side only (a difference in
     * the last float bits can move them across it). Empty when they agree.
     */
    public List<String> differences(
            Image expected, List<Found> found, float margin, float scoreTolerance, float pixels) {
        List<String> out = new ArrayList<>();
        for (Found e : expected.detections()) {
            if (e.score() >= minScore + margin && partner(e, found, scoreTolerance, pixels) == null) {
                out.add(expected.file() + ": reference object " + e + " not found in " + found);
            }
        }
        for (Found f : found) {
            if (f.score() >= minScore + margin && partner(f, expected.detections(), scoreTolerance, pixels) == null) {
                out.add(expected.file() + ": object " + f + " not in the reference " + expected.detections());
            }
        }
        return out;
    }

    private static Found partner(Found one, List<Found> others, float scoreTolerance, float pixels) {
        for (Found o : others) {
            if (o.index() == one.index()
                    && Math.abs(o.score() - one.score()) <= scoreTolerance
                    && Math.abs(o.x1() - one.x1()) <= pixels
                    && Math.abs(o.y1() - one.y1()) <= pixels
                    && Math.abs(o.x2() - one.x2()) <= pixels
                    && Math.abs(o.y2() - one.y2()) <= pixels) {
                return o;
            }
        }
        return null;
    }
}
