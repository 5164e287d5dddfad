package io.streamvision.imaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every supported format variant decodes to PIL's pixels (fixtures from {@code
 * training/format_fixtures.py}): exact for lossless formats, and within JPEG/WebP decoder
 * differences for lossy ones (JPEG mean under 2/255, lossy WebP under 4/255). EXIF orientation is
 * applied and alpha is composited over black, as the reference does.
 */
class FormatDecodingTest {

    static final Path DIR = Path.of("src/test/resources/formats");

    @TestFactory
    List<DynamicTest> decodesLikePil() throws Exception {
        ImageDecoder decoder = ReferenceCases.DECODER;
        return ReferenceCases.each(DIR.resolve("cases.json"), c -> c.get("file").asText(), c -> {
            String file = c.get("file").asText();
            RgbImage image =
                    decoder.decode(Files.readAllBytes(DIR.resolve(file))).toRgb();
            assertEquals(c.get("width").asInt(), image.width(), file + " width");
            assertEquals(c.get("height").asInt(), image.height(), file + " height");
            byte[] expected = Files.readAllBytes(DIR.resolve(c.get("reference").asText()));
            ReferenceCases.Difference diff = ReferenceCases.difference(expected, image.pixels());
            double mean = diff.mean();
            int max = diff.max();
            System.out.printf("[format] %-24s mean |diff| %.3f/255, max %d/255%n", file, mean, max);
            if (c.get("format").asText().equals("webp")
                    && c.get("lossy_decoder_differences").asBoolean()) {
                // TwelveMonkeys' VP8 decoder upsamples chroma more simply than
                // libwebp's "fancy"
                // upsampling: differences concentrate on sharp colour edges.
                assertTrue(mean < 4.0, file + ": mean difference " + mean);
            } else if (c.get("lossy_decoder_differences").asBoolean()) {
                assertTrue(mean < 2.0, file + ": mean difference " + mean);
            } else {
                assertTrue(max <= 1, file + ": max difference " + max);
            }
        });
    }
}
