package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.model.ModelConfig;
import io.streamvision.testing.TensorPixels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Real photographs as cameras write them (Adobe RGB and Display P3 profiles, CMYK, progressive,
 * EXIF-rotated, 16-bit PNG; made by {@code training/photo_fixtures.py}) through the services' image
 * path for an ImageNet model (shorter side 256, centre crop 224, mean/std normalised FP32) agree
 * with torchvision's {@code Resize(256) → CenterCrop(224) → ToTensor → Normalize} on PIL's decode:
 * within mean 0.5/255 and max 2/255 after normalisation is undone, with colour management {@code
 * none} (the default) and, for files with a profile, {@code srgb} against PIL + LittleCMS.
 */
class PhotoPreprocessingTest {

    static final Path DIR = Path.of("src/test/resources/photos");

    @TestFactory
    List<DynamicTest> agreesWithTorchvision() throws Exception {
        ImageDecoder decoder = ReferenceCases.DECODER;
        return ReferenceCases.each(
                DIR.resolve("cases.json"),
                c -> c.get("file").asText() + " " + c.get("colour_management").asText(),
                c -> {
                    String file = c.get("file").asText();
                    String mode = c.get("colour_management").asText();
                    ModelConfig.TensorSpec spec = ImagenetInput.spec(mode);
                    byte[] data = Files.readAllBytes(DIR.resolve(file));
                    TensorPreparer.PreparedTensor tensor =
                            TensorPreparer.prepare(decoder.decode(data, spec.colours()), spec, false);
                    assertArrayEquals(new long[] {1, 3, 224, 224}, tensor.shape());
                    RgbImage expected = decoder.decode(
                            Files.readAllBytes(DIR.resolve(c.get("reference").asText())));
                    double[] diff = TensorPixels.difference(
                            tensor.data(), expected.pixels(), 224 * 224, ImagenetInput.MEAN, ImagenetInput.STD);
                    System.out.printf(
                            "[photo] %-18s %-4s mean |diff| %.3f/255, max %.2f/255%n", file, mode, diff[0], diff[1]);
                    assertTrue(diff[0] <= 0.5, file + " " + mode + ": mean difference " + diff[0] + "/255");
                    assertTrue(diff[1] <= 2.0, file + " " + mode + ": max difference " + diff[1] + "/255");
                });
    }
}
