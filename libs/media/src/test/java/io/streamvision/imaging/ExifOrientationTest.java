package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * All eight EXIF orientations of a 3x2 one-channel image with the pixels 0..5, against what PIL's
 * {@code ImageOps.exif_transpose} makes of the same image (its output listed per row); the format
 * fixtures cover orientation 6 in a real JPEG only.
 */
class ExifOrientationTest {

    @ParameterizedTest(name = "orientation {0}")
    @CsvSource({
        "1, 3, 2, 0 1 2 3 4 5",
        "2, 3, 2, 2 1 0 5 4 3",
        "3, 3, 2, 5 4 3 2 1 0",
        "4, 3, 2, 3 4 5 0 1 2",
        "5, 2, 3, 0 3 1 4 2 5",
        "6, 2, 3, 3 0 4 1 5 2",
        "7, 2, 3, 5 2 4 1 3 0",
        "8, 2, 3, 2 5 1 4 0 3"
    })
    void matchesPil(int orientation, int width, int height, String pixels) {
        RgbImage stored = new RgbImage(3, 2, 1, new byte[] {0, 1, 2, 3, 4, 5});
        RgbImage shown = ExifOrientation.apply(stored, orientation);
        assertEquals(width, shown.width());
        assertEquals(height, shown.height());
        String[] values = pixels.split(" ");
        byte[] expected = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            expected[i] = Byte.parseByte(values[i]);
        }
        assertArrayEquals(expected, shown.pixels());
    }
}
