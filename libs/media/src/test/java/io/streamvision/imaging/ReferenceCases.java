package io.streamvision.imaging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.function.ThrowingConsumer;

/**
 * The reference tests' shape: a JSON file of cases made by a Python script (PIL, torchvision),
 * one dynamic test per case, decoded with the default limits.
 */
final class ReferenceCases {

    /** The decoder every reference test uses: default limits, alpha over black as PIL's reference. */
    static final ImageDecoder DECODER = new ImageDecoder(ImageLimits.DEFAULT, 0);

    private ReferenceCases() {}

    /** One test per entry of {@code "cases"} in {@code json}, named by {@code name}. */
    static List<DynamicTest> each(Path json, Function<JsonNode, String> name, ThrowingConsumer<JsonNode> test)
            throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : new ObjectMapper().readTree(json.toFile()).get("cases")) {
            tests.add(DynamicTest.dynamicTest(name.apply(c), () -> test.accept(c)));
        }
        return tests;
    }

    /** How far decoded samples are from a reference: mean and largest absolute difference, in 1/255. */
    record Difference(double mean, int max) {}

    static Difference difference(byte[] expected, byte[] actual) {
        long sum = 0;
        int max = 0;
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs((expected[i] & 0xFF) - (actual[i] & 0xFF));
            sum += d;
            max = Math.max(max, d);
        }
        return new Difference((double) sum / expected.length, max);
    }
}
