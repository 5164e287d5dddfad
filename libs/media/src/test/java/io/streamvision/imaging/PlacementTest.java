package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferRequest;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PlacementTest {

    private static ModelConfig.TensorSpec input(String policy, Integer pad) {
        return new ModelConfig.TensorSpec(
                "image",
                "FP32",
                new long[] {-1, 64, 64, 3},
                "NHWC",
                "RGB",
                new ModelConfig.Resize(policy, 64, 64, null, pad),
                1.0,
                null,
                null,
                true,
                null,
                null);
    }

    private static RgbImage white(int width, int height) {
        byte[] px = new byte[width * height * 3];
        Arrays.fill(px, (byte) 255);
        return new RgbImage(width, height, 3, px);
    }

    @Test
    void theLetterboxPlacementIsWhereThePixelsLand() throws Exception {
        ModelConfig.TensorSpec spec = input("letterbox", 7);
        TensorPreparer.PreparedTensor tensor = TensorPreparer.prepare(white(200, 100), spec, true);
        Placement p = tensor.placement();
        assertEquals(new Placement(200, 100, 0, 16, 64, 32), p);
        byte[] px = tensor.data();
        int row = 64 * 3;
        assertEquals(7, px[(p.top() - 1) * row], "the row above the image is padding");
        assertEquals((byte) 255, px[p.top() * row], "the image starts at placed_top");
        assertEquals((byte) 255, px[(p.top() + p.height() - 1) * row]);
        assertEquals(7, px[(p.top() + p.height()) * row], "and ends placed_height rows later");
        // The image's corners map back to the corners of the image as sent.
        assertEquals(0, p.sourceX(p.left()), 1e-6);
        assertEquals(200, p.sourceX(p.left() + p.width()), 1e-4);
        assertEquals(100, p.sourceY(p.top() + p.height()), 1e-4);
    }

    @Test
    void aLetterboxWithOneRowOfPaddingIsPaddedNotCropped() throws Exception {
        // 64x63 into 64x64: the padding is one row, at the bottom ((64 - 63) / 2 = 0 above).
        TensorPreparer.PreparedTensor tensor = TensorPreparer.prepare(white(64, 63), input("letterbox", 7), true);
        assertEquals(new Placement(64, 63, 0, 0, 64, 63), tensor.placement());
        assertEquals((byte) 255, tensor.data()[62 * 64 * 3]);
        assertEquals(7, tensor.data()[63 * 64 * 3], "the last row is padding");
    }

    @Test
    void theStretchAndCropPlacementsMapBackToTheImage() throws Exception {
        Placement stretch = TensorPreparer.placement(640, 480, input("stretch", null));
        assertEquals(new Placement(640, 480, 0, 0, 64, 64), stretch);
        assertEquals(320, stretch.sourceX(32), 1e-4);
        Placement crop = TensorPreparer.placement(640, 480, input("shorter-side-crop", null));
        // 85x64 after the resize, 10 columns cut on the left (half to even, as torchvision).
        assertEquals(new Placement(640, 480, -10, 0, 85, 64), crop);
        assertEquals(10 * 640 / 85.0, crop.sourceX(0), 1e-3);
    }

    @Test
    void thePlacementTravelsInTheRequestParameters() throws Exception {
        TensorPreparer.PreparedTensor tensor = TensorPreparer.prepare(white(30, 90), input("letterbox", 0), true);
        ModelInferRequest request = tensor.toInferRequest(
                        "r",
                        new ModelConfig(
                                "m",
                                1,
                                null,
                                "model.onnx",
                                "detection",
                                null,
                                null,
                                null,
                                null,
                                null,
                                null,
                                null,
                                null,
                                null,
                                null))
                .build();
        Placement read = Placement.of(request.getParametersMap());
        assertEquals(tensor.placement(), read);
        assertNotEquals(0, read.left(), "a tall image is padded left and right");
        assertEquals(null, Placement.of(ModelInferRequest.getDefaultInstance().getParametersMap()));
    }
}
