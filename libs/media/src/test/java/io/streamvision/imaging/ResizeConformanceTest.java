package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamvision.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
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
        ImageDecoder decoder = ReferenceCases.DECODER;
        return ReferenceCases.each(
                DIR.resolve("cases.json"),
                c -> c.get("image").asText() + " " + c.get("policy").asText(),
                c -> {
                    String name =
                            c.get("image").asText() + " " + c.get("policy").asText();
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
                    ReferenceCases.Difference diff = ReferenceCases.difference(expected, resized.pixels());
                    double mean = diff.mean();
                    int max = diff.max();
                    System.out.printf("[resize] %-55s mean |diff| %.4f/255, max %d/255%n", name, mean, max);
                    assertEquals(0, max, name + ": max difference " + max + "/255 (mean " + mean + ")");
                });
    }
}
