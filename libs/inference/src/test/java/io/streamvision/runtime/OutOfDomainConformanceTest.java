package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The shipped models' out-of-domain scores as the services compute them (decoded, resized and sent
 * as UINT8 pixels, normalised and scored by the engine) equal the model kit's ({@code
 * fixtures/ood.json}: real photographs, sample items and scenes, noise) within the fixture's
 * relative tolerance, with the same flag: the cat, the person with a dog and a horse and the rocket
 * are out of domain, the sample items in domain for the classifiers, the scenes for the caption
 * encoder.
 */
class OutOfDomainConformanceTest {

    @ParameterizedTest
    @ValueSource(strings = {"fashion-cnn", "lenet", "caption-encoder"})
    void scoresAndFlagsAreTheKits(String name) throws Exception {
        Path models = TestModels.dir();
        JsonNode fixture = new ObjectMapper()
                .readTree(models.resolve(name + "/1/fixtures/ood.json").toFile());
        double tolerance = fixture.get("relative_tolerance").asDouble();
        ModelLoader runtime = new ModelLoader(new ModelRepository(models), ExecutionSettings.CPU);
        ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT, 0);
        try (LoadedModel model = runtime.load(name, 1)) {
            assertNotNull(model.domain(), name + " ships an out-of-domain score");
            InferenceEngine engine = new InferenceEngine(runtime);
            int flagged = 0;
            for (JsonNode image : fixture.get("images")) {
                String file = image.get("file").asText();
                TensorPreparer.PreparedTensor tensor = TensorPreparer.prepare(
                        decoder.decode(Files.readAllBytes(models.getParent().resolve(file))),
                        model.config().imageInput(),
                        true);
                ModelInferRequest request =
                        tensor.toInferRequest(file, model.config()).build();
                InferenceEngine.Outcome outcome =
                        engine.infer(model, List.of(request)).get(0);
                double[] domain = DomainScore.read(outcome.response().getParametersMap());
                assertNotNull(domain, file);
                double expected = image.get("score").asDouble();
                System.out.printf(
                        "[ood] %-15s %-42s score %12.5g (kit %12.5g) %s%n",
                        name, file, domain[0], expected, domain[2] > 0 ? "OUT OF DOMAIN" : "in domain");
                assertEquals(expected, domain[0], Math.abs(expected) * tolerance + 1e-6, name + " " + file);
                assertEquals(image.get("out_of_domain").asBoolean(), domain[2] > 0, name + " " + file);
                flagged += domain[2] > 0 ? 1 : 0;
                if (file.contains("photos/")) {
                    assertTrue(domain[2] > 0, name + ": the photograph " + file + " is out of domain");
                }
                if (file.contains("items/") && !name.equals("caption-encoder")) {
                    assertTrue(domain[2] == 0, name + ": the sample item " + file + " is in domain");
                }
                if (file.contains("scenes/") && name.equals("caption-encoder")) {
                    assertTrue(domain[2] == 0, name + ": the sample scene " + file + " is in domain");
                }
            }
            assertTrue(flagged >= 4, name + ": the three photographs and the noise at least");
        }
    }
}
