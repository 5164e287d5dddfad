package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.ByteString;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.testing.OnnxGraphs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Triton's equal-shape rule: a model with variable height and width (a global mean, written as an
 * ONNX graph at test time) gets requests of different sizes in one call; each is answered with the
 * mean of its own pixels, because requests of different shapes never share a batch.
 */
class VariableShapeBatchingTest {

    @TempDir
    Path repo;

    @Test
    void requestsOfDifferentShapesNeverShareABatchAndAreEachAnsweredCorrectly() throws Exception {
        Path version = repo.resolve("mean/1");
        Files.createDirectories(version);
        Files.write(version.resolve("model.onnx"), globalMeanModel());
        Files.writeString(version.resolve("config.json"), """
                {"name": "mean", "version": 1, "platform": "onnxruntime_onnx", "file": "model.onnx",
                 "task": "embedding",
                 "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 1, -1, -1], "layout": "NCHW"}],
                 "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1], "role": "features"}],
                 "batching": {"max_batch_size": 8, "max_queue_delay_us": 0, "max_queue_size": 16}}
                """);
        ModelLoader runtime = new ModelLoader(new ModelRepository(repo), ExecutionSettings.CPU);
        try (LoadedModel model = runtime.load("mean", 1)) {
            InferenceEngine engine = new InferenceEngine(runtime);
            List<ModelInferRequest> requests =
                    List.of(image("a", 2, 3, 1f), image("b", 4, 4, 2f), image("c", 2, 3, 3f), image("d", 5, 1, 4f));
            List<InferenceEngine.Outcome> outcomes = engine.infer(model, requests);
            float[] expected = {1f, 2f, 3f, 4f};
            for (int i = 0; i < requests.size(); i++) {
                assertNull(outcomes.get(i).error(), requests.get(i).getId());
                ByteBuffer y = outcomes.get(i)
                        .response()
                        .getRawOutputContents(0)
                        .asReadOnlyByteBuffer()
                        .order(ByteOrder.LITTLE_ENDIAN);
                assertEquals(expected[i], y.getFloat(), 1e-6, requests.get(i).getId() + ": the mean of its own pixels");
                assertEquals(requests.get(i).getId(), outcomes.get(i).response().getId());
            }
        }
    }

    /** One image of the given size, every pixel {@code value}. */
    private static ModelInferRequest image(String id, int height, int width, float value) {
        ByteBuffer data = ByteBuffer.allocate(height * width * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < height * width; i++) {
            data.putFloat(value);
        }
        ModelInferRequest.Builder r =
                ModelInferRequest.newBuilder().setModelName("mean").setId(id);
        r.addInputsBuilder().setName("x").setDatatype("FP32").addAllShape(List.of(1L, 1L, (long) height, (long) width));
        r.addRawInputContents(ByteString.copyFrom(data.array()));
        return r.build();
    }

    /**
     * ONNX model y = ReduceMean(x, axes=[2, 3], keepdims=0), x: [N, 1, H, W] with symbolic N, H, W.
     */
    static byte[] globalMeanModel() {
        return OnnxGraphs.reduceMean(
                "global-mean",
                OnnxGraphs.floatValue("x", "N", 1L, "H", "W"),
                OnnxGraphs.floatValue("y", "N", 1L),
                2,
                3);
    }
}
