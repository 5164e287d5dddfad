package io.streamvision.captioning.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.model.ModelRepository;
import io.streamvision.runtime.ExecutionSettings;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ModelLoader;
import io.streamvision.testing.TestModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java search reproduces the reference decoding saved by the model kit, token for token: greedy
 * (computed with ONNX Runtime) and beam width 3 (computed with the PyTorch reference), all fixture
 * images decoded together in one batch.
 */
class CaptionDecoderFixtureTest {

    static final Path MODELS = TestModels.dir();

    static ModelLoader runtime;
    static LoadedModel decoder;
    static Vocabulary vocab;
    static JsonNode fixture;

    @BeforeAll
    static void load() throws Exception {
        runtime = new ModelLoader(new ModelRepository(MODELS), ExecutionSettings.CPU);
        int version = runtime.repository().versions("caption-decoder").get(0);
        decoder = runtime.load("caption-decoder", version);
        Path dir = runtime.repository().versionDir("caption-decoder", version);
        vocab = Vocabulary.read(dir.resolve("vocab.json"));
        fixture =
                new ObjectMapper().readTree(dir.resolve("fixtures/greedy.json").toFile());
    }

    @AfterAll
    static void close() {
        decoder.close();
    }

    private static List<float[]> features() {
        List<float[]> all = new ArrayList<>();
        for (JsonNode scene : fixture.get("fixtures")) {
            JsonNode f = scene.get("features");
            float[] v = new float[f.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) f.get(i).asDouble();
            }
            all.add(v);
        }
        return all;
    }

    private static List<Long> withoutEnd(JsonNode tokens) {
        List<Long> ids = new ArrayList<>();
        tokens.forEach(t -> ids.add(t.asLong()));
        if (!ids.isEmpty() && ids.get(ids.size() - 1) == vocab.end()) {
            ids.remove(ids.size() - 1);
        }
        return ids;
    }

    @Test
    void greedySearchMatchesTheReferenceTokenForToken() throws Exception {
        BeamSearchDecoder search = new BeamSearchDecoder(runtime.environment(), decoder, vocab);
        List<BeamSearchDecoder.Result> results = search.decode(features(), 1, vocab.maxLength(), 0.0);
        JsonNode scenes = fixture.get("fixtures");
        assertTrue(scenes.size() >= 8, "fixture has scenes");
        for (int i = 0; i < scenes.size(); i++) {
            JsonNode greedy = scenes.get(i).get("greedy");
            assertEquals(
                    withoutEnd(greedy.get("tokens")),
                    results.get(i).best().tokens(),
                    scenes.get(i).get("file").asText());
            assertEquals(
                    greedy.get("caption").asText(),
                    vocab.text(results.get(i).best().tokens()));
        }
    }

    @Test
    void beamOfOneIsGreedyAndMinimumLengthHoldsBackTheEnd() throws Exception {
        BeamSearchDecoder search = new BeamSearchDecoder(runtime.environment(), decoder, vocab);
        List<float[]> features = features();
        List<BeamSearchDecoder.Result> greedy = search.decode(features, 1, vocab.maxLength(), 0.0);
        List<BeamSearchDecoder.Result> beamOne = search.decode(features, 1, 0, vocab.maxLength(), 0.0);
        for (int i = 0; i < features.size(); i++) {
            assertEquals(greedy.get(i).best().tokens(), beamOne.get(i).best().tokens());
        }
        List<BeamSearchDecoder.Result> longer = search.decode(features, 3, 5, vocab.maxLength(), 0.0);
        for (BeamSearchDecoder.Result result : longer) {
            for (BeamSearchDecoder.Hypothesis h : result.ranked()) {
                assertTrue(h.tokens().size() >= 5, "no caption ends before 5 words: " + h.tokens());
            }
        }
        List<BeamSearchDecoder.Result> capped = search.decode(features, 3, 0, 3, 0.0);
        capped.forEach(r -> r.ranked().forEach(h -> assertTrue(h.tokens().size() <= 3, "at most 3 tokens")));
    }

    @Test
    void beamSearchMatchesTheReferenceHypotheses() throws Exception {
        int width = fixture.get("beam_search").get("width").asInt();
        BeamSearchDecoder search = new BeamSearchDecoder(runtime.environment(), decoder, vocab);
        List<BeamSearchDecoder.Result> results = search.decode(features(), width, vocab.maxLength(), 0.0);
        JsonNode scenes = fixture.get("fixtures");
        for (int i = 0; i < scenes.size(); i++) {
            JsonNode beam = scenes.get(i).get("beam");
            String scene = scenes.get(i).get("file").asText();
            assertEquals(withoutEnd(beam.get("tokens")), results.get(i).best().tokens(), scene);
            assertEquals(beam.get("log_prob").asDouble(), results.get(i).best().logProbability(), 1e-3, scene);
            JsonNode finished = beam.get("finished");
            assertEquals(finished.size(), results.get(i).ranked().size(), scene + ": number of finished hypotheses");
            for (int h = 0; h < finished.size(); h++) {
                assertEquals(
                        withoutEnd(finished.get(h).get("tokens")),
                        results.get(i).ranked().get(h).tokens(),
                        scene + " hypothesis " + h);
            }
        }
    }
}
