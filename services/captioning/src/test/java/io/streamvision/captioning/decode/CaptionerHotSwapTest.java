package io.streamvision.captioning.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.common.MapBackedConfigSource;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.runtime.ServedModels;
import io.streamvision.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The captioning service follows the shared model lifecycle: a decoder version that appears in the
 * repository is served after the next poll, with its own vocabulary and decoder built once, and the
 * encoder's config is read after each poll rather than on every call.
 */
class CaptionerHotSwapTest {

    private static final Path MODELS = TestModels.dir();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path repository;

    @Test
    void servesANewDecoderVersionAfterThePollWithoutARestart() throws Exception {
        copy(MODELS.resolve("caption-decoder/1"), repository.resolve("caption-decoder/1"));
        copy(MODELS.resolve("caption-encoder/1"), repository.resolve("caption-encoder/1"));
        CaptioningConfig config = config(repository);
        Captioner captioner = new Captioner();
        captioner.config = config;
        captioner.models = ServedModels.start(config, List.of(config.decoder()));
        try {
            captioner.start();
            assertTrue(captioner.ready(), "decoder and vocabulary loaded at start");
            ModelConfig encoder = captioner.encoderConfig();
            assertNotNull(encoder, "the encoder's config is read at start");
            assertSame(encoder, captioner.encoderConfig(), "and not re-read per call");

            JsonNode scene = JSON.readTree(MODELS.resolve("caption-decoder/1/fixtures/greedy.json")
                            .toFile())
                    .get("fixtures")
                    .get(0);
            String expected = scene.get("beam").get("caption").asText();
            Caption first = captioner
                    .caption(List.of("v1"), List.of(floats(scene.get("features"))))
                    .get(0);
            assertEquals("1", first.getDecoderVersion());
            assertEquals(expected, first.getText());

            Path v2 = repository.resolve("caption-decoder/2");
            copy(MODELS.resolve("caption-decoder/1"), v2);
            ObjectNode c = (ObjectNode) JSON.readTree(v2.resolve("config.json").toFile());
            c.put("version", 2);
            c.remove("sha256");
            JSON.writeValue(v2.resolve("config.json").toFile(), c);

            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> "2"
                            .equals(captioner
                                    .caption(List.of("v2"), List.of(floats(scene.get("features"))))
                                    .get(0)
                                    .getDecoderVersion()));
            Caption second = captioner
                    .caption(List.of("v2"), List.of(floats(scene.get("features"))))
                    .get(0);
            assertEquals(expected, second.getText(), "the new version decodes with its own vocabulary");
            assertEquals(
                    2, captioner.models().registry().current("caption-decoder").version());
            assertTrue(captioner.ready());
        } finally {
            captioner.models.close();
        }
    }

    private static CaptioningConfig config(Path repository) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(CaptioningConfig.class)
                .withSources(
                        new MapBackedConfigSource(
                                "test",
                                Map.of(
                                        "vision.captioning.models-dir", repository.toString(),
                                        "vision.captioning.models-poll-seconds", "1",
                                        "vision.captioning.execution.provider", "cpu",
                                        "vision.captioning.kafka.group-id", "unused",
                                        "vision.captioning.kafka.transactional-id", "unused",
                                        "vision.captioning.kafka.max-poll-records", "1",
                                        "vision.captioning.kafka.max-request-bytes", "1048576"),
                                100) {})
                .build();
        return config.getConfigMapping(CaptioningConfig.class);
    }

    private static float[] floats(JsonNode values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) values.get(i).asDouble();
        }
        return out;
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(file, target);
                }
            }
        }
    }
}
