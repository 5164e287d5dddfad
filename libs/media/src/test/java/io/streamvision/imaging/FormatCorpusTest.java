package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The format corpus ({@code training/format_corpus.py}): TIFF in its compressions and layouts,
 * PNM/PAM, ICO/CUR, TGA, PSD, JPEG 2000, BMP (OS/2, RLE, bit fields), SGI, PCX, odd GIFs and
 * slightly broken JPEGs. A file PIL decodes must decode to PIL's size and pixels: within 1/255 for
 * lossless data, a mean difference under 2/255 for JPEG-family data (JPEG, JPEG-in-TIFF, lossy JPEG
 * 2000: IDCT, upsampling and wavelet rounding differ between decoders, and for the damaged JPEGs so
 * may the error recovery). A file PIL refuses must be refused with an {@link
 * ImageRejectedException} (any reason), never another exception. PAM files, which PIL 9.4 cannot
 * read, are compared with their stored samples instead ({@code reference_by} in {@code
 * corpus.json}). Two files whose pixels differ for a reason {@code corpus.json} states ({@code
 * known_difference}: a reader's convention or bug) are checked for decoding and size only.
 */
class FormatCorpusTest {

    static final Path DIR = Path.of("src/test/resources/corpus");

    @TestFactory
    List<DynamicTest> decodesLikePil() throws Exception {
        ImageDecoder decoder = ReferenceCases.DECODER;
        return ReferenceCases.each(
                DIR.resolve("corpus.json"), c -> c.get("file").asText(), c -> {
                    String file = c.get("file").asText();
                    boolean decodes = c.get("expect").asText().equals("decode");
                    byte[] data = Files.readAllBytes(DIR.resolve(file));
                    if (!decodes) {
                        ImageRejectedException e = assertThrows(
                                ImageRejectedException.class,
                                () -> decoder.decode(data),
                                file + " is refused by PIL ("
                                        + c.path("pil_error").asText() + ")");
                        System.out.printf("[corpus] %-34s refused like PIL: %s %s%n", file, e.reason(), e.getMessage());
                        return;
                    }
                    RgbImage image;
                    try {
                        image = decoder.decode(data).toRgb();
                    } catch (Exception e) {
                        System.out.printf("[corpus] %-34s NOT DECODED: %s%n", file, e);
                        throw e;
                    }
                    String size = image.width() + "x" + image.height();
                    String expectedSize =
                            c.get("width").asInt() + "x" + c.get("height").asInt();
                    if (!size.equals(expectedSize)) {
                        System.out.printf("[corpus] %-34s WRONG SIZE %s, PIL %s%n", file, size, expectedSize);
                    }
                    assertEquals(expectedSize, size, file + " size");
                    if (c.has("known_difference")) {
                        System.out.printf(
                                "[corpus] %-34s %s decoded; pixels not compared: %s%n",
                                file, size, c.get("known_difference").asText());
                        return;
                    }
                    byte[] expected =
                            Files.readAllBytes(DIR.resolve(c.get("reference").asText()));
                    assertEquals(expected.length, image.pixels().length, file + " pixel bytes");
                    ReferenceCases.Difference diff = ReferenceCases.difference(expected, image.pixels());
                    double mean = diff.mean();
                    int max = diff.max();
                    boolean lossy = c.get("lossy").asBoolean();
                    System.out.printf(
                            "[corpus] %-34s %s mean |diff| %.3f/255, max %d/255%s%n",
                            file, size, mean, max, lossy ? " (lossy: mean < 2)" : "");
                    if (lossy) {
                        assertTrue(mean < 2.0, file + ": mean difference " + mean);
                    } else {
                        assertTrue(max <= 1, file + ": max difference " + max + " (mean " + mean + ")");
                    }
                });
    }
}
