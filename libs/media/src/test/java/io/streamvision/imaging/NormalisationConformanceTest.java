package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamvision.model.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Normalisation against torchvision's {@code ToTensor} + {@code Normalize} for every pixel value
 * 0-255 and each shipped mean/std set (references made by {@code training/resize_reference.py}):
 * the same float32 bits, both from the normalisation table and from a whole FP32 tensor. UINT8
 * tensors carry the pixels unchanged, for the serving side to normalise with the same table.
 */
class NormalisationConformanceTest {

    @TestFactory
    List<DynamicTest> matchesTorchvisionBitForBit() throws Exception {
        return ReferenceCases.each(
                ResizeConformanceTest.DIR.resolve("normalisation.json"),
                c -> c.get("expected").asText(),
                c -> {
                    String name = c.get("expected").asText();
                    float[] mean = floats(c.get("mean"));
                    float[] std = floats(c.get("std"));
                    int channels = mean.length;
                    byte[] expected = Files.readAllBytes(ResizeConformanceTest.DIR.resolve(name));
                    assertEquals(channels * 256 * 4, expected.length, name);
                    ModelConfig.TensorSpec spec = new ModelConfig.TensorSpec(
                            "image",
                            "FP32",
                            new long[] {-1, channels, 16, 16},
                            "NCHW",
                            channels == 1 ? "GRAY" : "RGB",
                            new ModelConfig.Resize("stretch", 16, 16, null, null),
                            c.get("scale").asDouble(),
                            mean,
                            std,
                            true,
                            null,
                            null);

                    float[][] table = spec.normalisation(channels);
                    ByteBuffer reference = ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN);
                    int differ = 0;
                    for (int ch = 0; ch < channels; ch++) {
                        for (int v = 0; v < 256; v++) {
                            if (Float.floatToRawIntBits(table[ch][v]) != reference.getInt()) {
                                differ++;
                            }
                        }
                    }
                    assertEquals(0, differ, name + ": table values that differ from torchvision's");

                    // A 16x16 image holding each value once per channel, through the whole FP32 path.
                    byte[] pixels = new byte[256 * channels];
                    for (int v = 0; v < 256; v++) {
                        for (int ch = 0; ch < channels; ch++) {
                            pixels[v * channels + ch] = (byte) v;
                        }
                    }
                    RgbImage image = new RgbImage(16, 16, channels, pixels);
                    TensorPreparer.PreparedTensor fp32 = TensorPreparer.prepare(image, spec, false);
                    assertEquals("FP32", fp32.datatype());
                    assertArrayEquals(expected, fp32.data(), name + ": the FP32 tensor's bytes");

                    TensorPreparer.PreparedTensor uint8 = TensorPreparer.prepare(image, spec, true);
                    assertEquals("UINT8", uint8.datatype());
                    for (int i = 0; i < uint8.data().length; i++) {
                        assertEquals(i % 256, uint8.data()[i] & 0xFF, name + ": UINT8 carries the pixels (CHW)");
                    }
                });
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }
}
