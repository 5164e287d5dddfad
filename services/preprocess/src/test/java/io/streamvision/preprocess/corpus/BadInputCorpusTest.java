package io.streamvision.preprocess.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelCatalog;
import io.streamvision.model.ModelRepository;
import io.streamvision.preprocess.ImageModels;
import io.streamvision.preprocess.streams.ImagePreparation;
import io.streamvision.preprocess.streams.PreprocessTopology;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.tracing.RecordTracing;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
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
    static final Topics TOPICS = new Topics("");
    static TopologyTestDriver driver;
    static TestInputTopic<byte[], byte[]> images;
    static TestOutputTopic<byte[], byte[]> tensors;
    static TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeAll
    static void start() {
        ModelCatalog catalog =
                new ModelCatalog(new ModelRepository(Path.of("src/test/resources/model-repo")), Duration.ofMinutes(1));
        // 512 KB cap so that the padded JPEG is over it; the other limits are the service defaults.
        ImageLimits limits = new ImageLimits(
                512 * 1024,
                ImageLimits.DEFAULT.maxWidth(),
                ImageLimits.DEFAULT.maxHeight(),
                ImageLimits.DEFAULT.maxPixels());
        ImagePreparation preparation = new ImagePreparation(
                TOPICS,
                new DeadLetters(TOPICS.deadLetters(), 4096),
                new ImageModels(catalog, List.of("tiny-gray")),
                new ImageDecoder(limits, 0),
                true,
                RecordTracing.OFF);
        StreamsBuilder builder = new StreamsBuilder();
        PreprocessTopology.build(builder, TOPICS, preparation);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "bad-input-corpus");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(builder.build(), props);
        images = driver.createInputTopic(TOPICS.images().name(), new ByteArraySerializer(), new ByteArraySerializer());
        tensors = driver.createOutputTopic(
                TOPICS.tensors("tiny-gray").name(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(
                TOPICS.deadLetters().name(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterAll
    static void stop() {
        driver.close();
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
