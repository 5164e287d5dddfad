package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.streamvision.model.ModelConfig;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * A 12-megapixel camera-sized JPEG (4000×3000, and the same in portrait) goes through the service's
 * image path within the default limits, and the crop policy, which resamples only the rows and
 * columns the crop keeps, gives the same bytes as resizing the whole photo to 341×256 and cropping
 * 224×224 (the torchvision recipe, itself checked against PIL byte for byte by {@code
 * ResizeConformanceTest}).
 */
class TwelveMegapixelTest {

    static byte[] photo(int width, int height) throws Exception {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(12);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int n = random.nextInt(32);
                image.setRGB(
                        x,
                        y,
                        ((x * 255 / width + n) & 0xFF) << 16
                                | ((y * 255 / height + n) & 0xFF) << 8
                                | (((x + y) / 30 % 2) * 200 + n));
            }
        }
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        ImageIO.write(image, "jpg", jpeg);
        return jpeg.toByteArray();
    }

    @Test
    void cropPolicyOnTwelveMegapixelsEqualsWholeResizeThenCrop() throws Exception {
        ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT, 0);
        ModelConfig.TensorSpec spec = ImagenetInput.spec("none");
        for (int[] size : new int[][] {{4000, 3000}, {3000, 4000}}) {
            RgbImage decoded = decoder.decode(photo(size[0], size[1]));
            assertEquals(size[0], decoded.width());
            assertEquals(size[1], decoded.height());
            int rw = size[0] >= size[1] ? 256 * size[0] / size[1] : 256;
            int rh = size[0] >= size[1] ? 256 : 256 * size[1] / size[0];
            RgbImage whole = Resampler.resize(decoded, rw, rh);
            RgbImage expected =
                    whole.crop((int) Math.rint((rw - 224) / 2.0), (int) Math.rint((rh - 224) / 2.0), 224, 224);
            RgbImage cropped = TensorPreparer.resize(decoded, spec);
            assertArrayEquals(expected.pixels(), cropped.pixels(), size[0] + "x" + size[1]);
            TensorPreparer.PreparedTensor tensor = TensorPreparer.prepare(decoded, spec, false);
            assertEquals(3 * 224 * 224 * 4, tensor.data().length);
        }
    }
}
