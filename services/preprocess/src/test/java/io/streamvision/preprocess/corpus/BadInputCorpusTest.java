package io.streamvision.preprocess.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.preprocess.streams.ImageTopologyHarness;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every file of the bad-input corpus yields exactly the reason code its manifest names (or a
 * tensor, for odd-but-valid inputs), one output per input, and the topology keeps serving good
 * images after all of them.
 */
class BadInputCorpusTest {

    static final Path CORPUS = Path.of("src/test/resources/bad-inputs");
    static ImageTopologyHarness harness;
    static TestInputTopic<byte[], byte[]> images;
    static TestOutputTopic<byte[], byte[]> tensors;
    static TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeAll
    static void start() {
        // 512 KB cap so that the padded JPEG is over it; the other limits are the service defaults.
        ImageLimits limits = new ImageLimits(
                512 * 1024,
                ImageLimits.DEFAULT.maxWidth(),
                ImageLimits.DEFAULT.maxHeight(),
                ImageLimits.DEFAULT.maxPixels());
        harness = new ImageTopologyHarness("bad-input-corpus", limits, 4096);
        images = harness.images();
        tensors = harness.tensors();
        deadLetters = harness.deadLetters();
    }

    @AfterAll
    static void stop() {
        harness.close();
    }

    static List<String[]> manifest() throws Exception {
        List<String[]> rows = new ArrayList<>();
        for (String line : Files.readAllLines(CORPUS.resolve("expected.tsv"))) {
            if (!line.startsWith("#") && !line.isBlank()) {
                rows.add(line.split("\t"));
            }
        }
        return rows;
    }

    @Test
    void corpusHasAtLeastThirtyFiles() throws Exception {
        assertTrue(manifest().size() >= 30, "corpus size " + manifest().size());
    }

    @TestFactory
    List<DynamicTest> eachFileGetsItsReasonCode() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (String[] row : manifest()) {
            String file = row[0];
            String expected = row[1];
            tests.add(DynamicTest.dynamicTest(file + " -> " + expected, () -> {
                byte[] data = Files.readAllBytes(CORPUS.resolve(file));
                ImageRequest request = ImageRequest.newBuilder()
                        .setRequestId(file)
                        .setImage(ByteString.copyFrom(data))
                        .build();
                images.pipeInput(file.getBytes(StandardCharsets.UTF_8), request.toByteArray());
                var produced = tensors.readRecordsToList();
                var rejected = deadLetters.readRecordsToList();
                assertEquals(1, produced.size() + rejected.size(), "exactly one output for " + file);
                if (expected.equals("OK")) {
                    assertEquals(1, produced.size(), () -> "served: " + describe(rejected));
                    assertEquals(
                            file,
                            ModelInferRequest.parseFrom(produced.get(0).value()).getId());
                } else {
                    assertEquals(1, rejected.size(), file + " must be rejected");
                    DeadLetter letter = DeadLetter.parseFrom(rejected.get(0).value());
                    assertEquals(expected, letter.getReason().name(), letter.getMessage());
                    assertEquals(file, letter.getOriginalKey().toStringUtf8());
                    assertTrue(!letter.getMessage().isBlank());
                }
            }));
        }
        tests.add(DynamicTest.dynamicTest("a good image after the whole corpus is still served", () -> {
            byte[] good = Files.readAllBytes(CORPUS.resolve("plain.bmp"));
            images.pipeInput(
                    "after".getBytes(StandardCharsets.UTF_8),
                    ImageRequest.newBuilder()
                            .setRequestId("after")
                            .setImage(ByteString.copyFrom(good))
                            .build()
                            .toByteArray());
            assertEquals(
                    "after", ModelInferRequest.parseFrom(tensors.readValue()).getId());
        }));
        return tests;
    }

    private static String describe(List<TestRecord<byte[], byte[]>> rejected) {
        try {
            return rejected.isEmpty()
                    ? "nothing"
                    : DeadLetter.parseFrom(rejected.get(0).value()).getMessage();
        } catch (Exception e) {
            return e.toString();
        }
    }
}
