package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.proto.vision.v1.ReasonCode;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The formats phones and cameras save ({@code training/phone_formats.py}): HEIC as iPhones write
 * it, AVIF, AVIF stored sideways and mirrored (irot, imir), and MPO (its first picture, as PIL
 * opens it). Each decodes to the reference reader's size and pixels (heif-convert, avifdec, PIL)
 * within the tolerance of the lossy formats in the corpus test: a mean difference under 2/255.
 */
class PhoneFormatsTest {

    static final Path DIR = Path.of("src/test/resources/phone-formats");
    static final ImageDecoder DECODER = new ImageDecoder(ImageLimits.DEFAULT, 0);

    @ParameterizedTest
    @CsvSource({
        "chelsea.heic, chelsea-heic.png, HEIF",
        "chelsea.avif, chelsea-avif.png, AVIF",
        "chelsea-rot1-mir1.avif, chelsea-rot1-mir1-avif.png, AVIF",
        "chelsea.mpo, chelsea-mpo.png, JPEG"
    })
    void decodesToTheReferenceReadersPixels(String file, String reference, ImageFormat format) throws Exception {
        byte[] data = Files.readAllBytes(DIR.resolve(file));
        assertEquals(format, ImageFormat.sniff(data), file);
        RgbImage image = DECODER.decode(data).toRgb();
        BufferedImage expected = ImageIO.read(DIR.resolve(reference).toFile());
        assertEquals(expected.getWidth() + "x" + expected.getHeight(), image.width() + "x" + image.height(), file);
        double sum = 0;
        int max = 0;
        byte[] px = image.pixels();
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                int rgb = expected.getRGB(x, y);
                for (int c = 0; c < 3; c++) {
                    int d = Math.abs((px[(y * image.width() + x) * 3 + c] & 0xFF) - ((rgb >> (16 - 8 * c)) & 0xFF));
                    sum += d;
                    max = Math.max(max, d);
                }
            }
        }
        double mean = sum / (3.0 * image.width() * image.height());
        System.out.printf(
                "[phone formats] %-24s %dx%d mean |diff| %.3f/255, max %d/255%n",
                file, image.width(), image.height(), mean, max);
        assertTrue(mean < 2.0, file + ": mean " + mean);
    }

    @Test
    void aTurnedAvifIsTurnedBackNotLeftSideways() throws Exception {
        RgbImage plain = DECODER.decode(Files.readAllBytes(DIR.resolve("chelsea.avif")));
        RgbImage turned = DECODER.decode(Files.readAllBytes(DIR.resolve("chelsea-rot1-mir1.avif")));
        assertEquals(plain.width(), turned.height(), "a quarter turn swaps width and height");
        assertEquals(plain.height(), turned.width());
    }

    @Test
    void brokenHeifAndAvifAreRefusedWithAReason() throws Exception {
        for (String file : new String[] {"chelsea.heic", "chelsea.avif"}) {
            byte[] data = Files.readAllBytes(DIR.resolve(file));
            byte[] truncated = Arrays.copyOf(data, data.length / 3);
            ImageRejectedException e =
                    assertThrows(ImageRejectedException.class, () -> DECODER.decode(truncated), file);
            assertTrue(
                    e.reason() == ReasonCode.CORRUPT_IMAGE || e.reason() == ReasonCode.TRUNCATED,
                    file + ": " + e.reason() + " " + e.getMessage());
            byte[] header = Arrays.copyOf(data, 40);
            assertThrows(ImageRejectedException.class, () -> DECODER.decode(header), file + " header only");
        }
    }

    @Test
    void anMp4VideoIsNotTakenForAnImage() throws Exception {
        byte[] video = Files.readAllBytes(Path.of("../../samples/video.mp4"));
        assertEquals(ImageFormat.UNKNOWN, ImageFormat.sniff(video));
        // An ftyp box of size 0 (to the end of the file) or of an absurd size: its brands are not
        // looked for in the media data after it.
        byte[] bogus = new byte[64];
        System.arraycopy("ftypisom".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, bogus, 4, 8);
        System.arraycopy("avif".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, bogus, 40, 4);
        assertEquals(ImageFormat.UNKNOWN, ImageFormat.sniff(bogus));
        bogus[0] = 0x7f;
        assertEquals(ImageFormat.UNKNOWN, ImageFormat.sniff(bogus));
    }
}
