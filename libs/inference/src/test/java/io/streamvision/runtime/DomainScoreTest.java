package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.testing.OnnxGraphs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The out-of-domain score of every answer, computed by the engine from the model's own output and
 * carried as OIP response parameters into the classification: max softmax probability, energy and
 * Mahalanobis distance, against values worked out by hand, on a model whose logits are its input.
 */
class DomainScoreTest {

    @TempDir
    Path repo;

    private ModelLoader runtime;

    /** An identity model over 2 values, with an out_of_domain block. */
    private LoadedModel model(String name, String block) throws Exception {
        Path version = Files.createDirectories(repo.resolve(name + "/1"));
        Files.write(
                version.resolve("model.onnx"),
                OnnxGraphs.model(
                        OnnxGraphs.graph(
                                name,
                                List.of(OnnxGraphs.node("Identity", List.of("x"), List.of("y"))),
                                List.of(),
                                List.of(OnnxGraphs.floatValue("x", "N", 2L)),
                                List.of(OnnxGraphs.floatValue("y", "N", 2L))),
                        13));
        Files.writeString(version.resolve("config.json"), """
                {"name": "%s", "version": 1, "platform": "onnxruntime_onnx", "file": "model.onnx",
                 "task": "classification",
                 "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
                 "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2], "role": "logits"}],
                 "labels": ["a", "b"],
                 "out_of_domain": %s}
                """.formatted(name, block));
        runtime = new ModelLoader(new ModelRepository(repo), ExecutionSettings.CPU);
        return runtime.load(name, 1);
    }

    private static ModelInferRequest request(float... values) {
        ByteBuffer raw = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            raw.putFloat(v);
        }
        ModelInferRequest.Builder r =
                ModelInferRequest.newBuilder().setModelName("m").setId("r");
        r.addInputsBuilder().setName("x").setDatatype("FP32").addShape(1).addShape(2);
        return r.addRawInputContents(ByteString.copyFrom(raw.array())).build();
    }

    private Classification answer(LoadedModel model, float... values) throws Exception {
        ModelInferRequest request = request(values);
        InferenceEngine.Outcome outcome =
                new InferenceEngine(runtime).infer(model, List.of(request)).get(0);
        assertNull(outcome.error());
        return Classifications.fromResponse(model.config(), request, outcome.response(), 2);
    }

    @Test
    void energyIsMinusTheLogSumExpOfTheLogits() throws Exception {
        try (LoadedModel m = model("energy", """
                {"method": "energy", "output": "y", "threshold": -5.0}""")) {
            Classification sure = answer(m, 9, 0);
            double expected = -Math.log(Math.exp(9) + Math.exp(0));
            assertEquals(expected, sure.getDomainScore(), 1e-5);
            assertFalse(sure.getOutOfDomain(), "large logits: low energy, in domain");
            assertEquals(-5.0f, sure.getDomainThreshold());
            Classification vague = answer(m, 0.5f, 0.2f);
            assertTrue(vague.getOutOfDomain(), "small logits: high energy: " + vague.getDomainScore());
        }
    }

    @Test
    void maxSoftmaxIsOneMinusTheLargestProbability() throws Exception {
        try (LoadedModel m = model("msp", """
                {"method": "max_softmax", "output": "y", "threshold": 0.2}""")) {
            Classification c = answer(m, 1, 0);
            assertEquals(1 - Math.exp(1) / (Math.exp(1) + 1), c.getDomainScore(), 1e-6);
            assertTrue(c.getOutOfDomain());
            assertFalse(answer(m, 6, 0).getOutOfDomain());
        }
    }

    @Test
    void mahalanobisIsTheSmallestDistanceToAClassMeanUnderTheSharedPrecision() throws Exception {
        // Means (0, 0) and (10, 0); precision diag(1, 4): distance^2 = dx^2 + 4 dy^2.
        ByteBuffer stats = ByteBuffer.allocate(4 * (2 * 2 + 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : new float[] {0, 0, 10, 0, 1, 0, 0, 4}) {
            stats.putFloat(v);
        }
        Files.createDirectories(repo.resolve("maha/1"));
        Files.write(repo.resolve("maha/1/ood.f32"), stats.array());
        try (LoadedModel m = model("maha", """
                {"method": "mahalanobis", "output": "y", "statistics": "ood.f32", "classes": 2,
                 "dimensions": 2, "threshold": 9.0, "dead_letter": false}""")) {
            Classification near = answer(m, 9, 1);
            assertEquals(1 + 4, near.getDomainScore(), 1e-4, "to (10, 0): 1 + 4 * 1");
            assertFalse(near.getOutOfDomain());
            Classification far = answer(m, 5, 2);
            assertEquals(25 + 16, far.getDomainScore(), 1e-4);
            assertTrue(far.getOutOfDomain());
            ModelInferResponse raw = new InferenceEngine(runtime)
                    .infer(m, List.of(request(5, 2)))
                    .get(0)
                    .response();
            assertTrue(raw.getParametersOrThrow(DomainScore.OUT_OF_DOMAIN).getBoolParam(), "OIP clients see it");
            assertEquals(41, raw.getParametersOrThrow(DomainScore.SCORE).getDoubleParam(), 1e-4);
        }
    }

    @Test
    void statisticsForAnotherWidthThanTheOutputsStopTheModelFromLoading() throws Exception {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> model("wide", """
                {"method": "mahalanobis", "output": "y", "statistics": "ood.f32", "classes": 2,
                 "dimensions": 3, "threshold": 9.0}"""));
        assertTrue(e.getMessage().contains("not the width 2"), e.getMessage());
    }

    @Test
    void statisticsOfTheWrongSizeStopTheModelFromLoading() throws Exception {
        Files.createDirectories(repo.resolve("broken/1"));
        Files.write(repo.resolve("broken/1/ood.f32"), new byte[12]);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> model("broken", """
                {"method": "mahalanobis", "output": "y", "statistics": "ood.f32", "classes": 2,
                 "dimensions": 2, "threshold": 9.0}"""));
        assertTrue(e.getMessage().contains("12 bytes"), e.getMessage());
    }
}
