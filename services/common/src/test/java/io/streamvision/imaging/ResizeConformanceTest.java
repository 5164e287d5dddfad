package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The Java resize policies against torchvision/PIL on the same images (references made by {@code
 * training/resize_reference.py}): the same bytes, since the resampler computes Pillow's fixed-point
 * filter (and the crop policy resamples only the rows and columns it keeps).
 */
class ResizeConformanceTest {

    static final Path DIR = Path.of("src/test/resources/resize-reference");

    @TestFactory
    List<DynamicTest> matchesTorchvisionResizing() throws Exception {
        JsonNode cases =
                new ObjectMapper().readTree(DIR.resolve("cases.json").toFile()).get("cases");
        ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT, 0);
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : cases) {
            String name = c.get("image").asText() + " " + c.get("policy").asText();
            tests.add(DynamicTest.dynamicTest(name, () -> {
                JsonNode r = c.get("resize");
                ModelConfig.Resize resize = new ModelConfig.Resize(
                        r.get("policy").asText(),
                        r.get("width").asInt(),
                        r.get("height").asInt(),
                        r.has("shorter_side") ? r.get("shorter_side").asInt() : null,
                        r.has("pad_value") ? r.get("pad_value").asInt() : null);
                ModelConfig.TensorSpec spec = new ModelConfig.TensorSpec(
                        "image",
                        "FP32",
                        null,
                        "NCHW",
                        c.get("colour").asText(),
                        resize,
                        255.0,
                        null,
                        null,
                        false,
                        null,
                        null);
                RgbImage image = decoder.decode(
                        Files.readAllBytes(DIR.resolve(c.get("image").asText())));
                RgbImage resized = TensorPreparer.resize(image, spec);
                byte[] expected =
                        Files.readAllBytes(DIR.resolve(c.get("expected").asText()));
                assertEquals(expected.length, resized.pixels().length, "same size");
                long sum = 0;
                int max = 0;
                for (int i = 0; i < expected.length; i++) {
                    int d = Math.abs((expected[i] & 0xFF) - (resized.pixels()[i] & 0xFF));
                    sum += d;
                    max = Math.max(max, d);
                }
                double mean = (double) sum / expected.length;
                System.out.printf("[resize] %-55s mean |diff| %.4f/255, max %d/255%n", name, mean, max);
                assertEquals(0, max, name + ": max difference " + max + "/255 (mean " + mean + ")");
            }));
        }
        return tests;
    }
}
