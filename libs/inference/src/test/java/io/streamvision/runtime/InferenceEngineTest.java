package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.ByteString;
import io.streamvision.imaging.RgbImage;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.model.ModelConfig.TensorSpec;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.testing.OnnxGraphs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine writes a batch straight into reused direct buffers: a request that fails while it
 * is written (a NaN, a short typed list) is rolled back without shifting the rows of the others,
 * and a smaller batch after a bigger one in the same buffers sees none of the old data.
 */
class InferenceEngineTest {

    @TempDir
    Path repo;

    private ModelLoader runtime;

    @BeforeEach
    void model() throws Exception {
        Path version = repo.resolve("mean/3");
        Files.createDirectories(version);
        Files.write(version.resolve("model.onnx"), VariableShapeBatchingTest.globalMeanModel());
        Files.writeString(version.resolve("config.json"), """
                {"name": "mean", "version": 3, "platform": "onnxruntime_onnx", "file": "model.onnx",
                 "task": "embedding",
                 "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 1, -1, -1], "layout": "NCHW"}],
                 "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1], "role": "features"}]}
                """);
        runtime = new ModelLoader(new ModelRepository(repo), ExecutionSettings.CPU);
    }

    @Test
    void aRequestThatFailsWhileWrittenIsRolledBackAndTheOthersKeepTheirRows() throws Exception {
        try (LoadedModel model = runtime.load("mean", 3)) {
            InferenceEngine engine = new InferenceEngine(runtime);
            BatchBuffers buffers = new BatchBuffers();
            List<ModelInferRequest> requests = List.of(
                    raw("a", 1f, 2), raw("nan", Float.NaN, 1), typed("b", 3f, 4), typedShort("short"), raw("c", 5f, 3));
            List<InferenceEngine.Outcome> outcomes = engine.infer(model, requests, buffers);
            assertMeans(outcomes.get(0), 1f, 1f);
            assertEquals(ReasonCode.NON_FINITE_VALUES, outcomes.get(1).error().reason());
            assertMeans(outcomes.get(2), 3f, 3f, 3f, 3f);
            assertEquals(
                    "input 'x' needs 4 values in fp32_contents (or raw contents), got 3",
                    outcomes.get(3).error().getMessage());
            assertMeans(outcomes.get(4), 5f, 5f, 5f);
            outcomes.forEach(o -> assertEquals(3, o.model().version(), "the version that ran"));

            // The same buffers, now holding the batch above, take a smaller batch.
            List<InferenceEngine.Outcome> again = engine.infer(model, List.of(raw("d", 7f, 1)), buffers);
            assertMeans(again.get(0), 7f);
        }
    }

    /**
     * UINT8 pixels are not checked one by one for NaN and infinities: the 256 entries per channel of
     * the normalisation table are. A std so small that the table overflows still refuses the input.
     */
    @Test
    void uint8PixelsThatNormaliseToInfinityAreRefused() throws Exception {
        String name = "tiny-std";
        Path version = repo.resolve(name + "/1");
        Files.createDirectories(version);
        Files.write(version.resolve("model.onnx"), channelMeanModel(false));
        Files.writeString(version.resolve("config.json"), """
                {"name": "%s", "version": 1, "platform": "onnxruntime_onnx", "file": "model.onnx",
                 "task": "embedding",
                 "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3, 2, 2], "layout": "NCHW",
                             "scale": 1.0, "mean": [0.0], "std": [1e-44], "accepts_uint8": true}],
                 "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3], "role": "features"}]}
                """.formatted(name));
        try (LoadedModel model = runtime.load(name, 1)) {
            for (int value : new int[] {0, 200}) {
                ModelInferRequest.Builder r =
                        ModelInferRequest.newBuilder().setModelName(name).setId("v" + value);
                r.addInputsBuilder().setName("x").setDatatype("UINT8").addAllShape(List.of(1L, 3L, 2L, 2L));
                byte[] data = new byte[12];
                Arrays.fill(data, (byte) value);
                r.addRawInputContents(ByteString.copyFrom(data));
                InferenceEngine.Outcome outcome = new InferenceEngine(runtime)
                        .infer(model, List.of(r.build()))
                        .get(0);
                if (value == 0) {
                    assertNull(outcome.error(), "0 normalises to 0, finite");
                } else {
                    assertEquals(ReasonCode.NON_FINITE_VALUES, outcome.error().reason(), "200 / 1e-44 overflows");
                }
            }
        }
    }

    /**
     * UINT8 pixels of a three-channel image are normalised with each channel's own mean and std,
     * in both layouts (the model returns the per-channel mean of what it was given).
     */
    @Test
    void uint8PixelsAreNormalisedPerChannelInBothLayouts() throws Exception {
        int[] pixel = {10, 100, 200};
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        float[] expected = new float[3];
        for (int c = 0; c < 3; c++) {
            expected[c] = (float) ((pixel[c] / 255.0 - mean[c]) / std[c]);
        }
        for (String layout : List.of("NCHW", "NHWC")) {
            boolean nhwc = layout.equals("NHWC");
            String name = "rgb-" + layout.toLowerCase(Locale.ROOT);
            Path version = repo.resolve(name + "/1");
            Files.createDirectories(version);
            Files.write(version.resolve("model.onnx"), channelMeanModel(nhwc));
            Files.writeString(version.resolve("config.json"), """
                    {"name": "%s", "version": 1, "platform": "onnxruntime_onnx", "file": "model.onnx",
                     "task": "embedding",
                     "inputs": [{"name": "x", "datatype": "FP32", "shape": %s, "layout": "%s",
                                 "scale": 255.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                                 "accepts_uint8": true}],
                     "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3], "role": "features"}]}
                    """.formatted(
                            name, nhwc ? "[-1, 2, 2, 3]" : "[-1, 3, 2, 2]", layout));
            try (LoadedModel model = runtime.load(name, 1)) {
                byte[] data = new byte[2 * 12];
                for (int k = 0; k < data.length; k++) {
                    data[k] = (byte) pixel[nhwc ? k % 3 : (k / 4) % 3];
                }
                ModelInferRequest.Builder r =
                        ModelInferRequest.newBuilder().setModelName(name).setId(layout);
                r.addInputsBuilder()
                        .setName("x")
                        .setDatatype("UINT8")
                        .addAllShape(nhwc ? List.of(2L, 2L, 2L, 3L) : List.of(2L, 3L, 2L, 2L));
                r.addRawInputContents(ByteString.copyFrom(data));
                InferenceEngine.Outcome outcome = new InferenceEngine(runtime)
                        .infer(model, List.of(r.build()))
                        .get(0);
                assertNull(outcome.error(), layout);
                ByteBuffer y = outcome.response()
                        .getRawOutputContents(0)
                        .asReadOnlyByteBuffer()
                        .order(ByteOrder.LITTLE_ENDIAN);
                for (int row = 0; row < 2; row++) {
                    for (int c = 0; c < 3; c++) {
                        assertEquals(expected[c], y.getFloat(), 1e-5, layout + " channel " + c);
                    }
                }
            }
        }
    }

    /**
     * A model given UINT8 pixels sees the very bits it sees when the preprocessing side sends the
     * normalised FP32 tensor of the same image, so choosing the 4x smaller UINT8 changes no result
     * (the model returns its input unchanged).
     */
    @Test
    void uint8PixelsGiveTheModelTheBitsOfTheFp32Tensor() throws Exception {
        byte[] pixels = new byte[16 * 16 * 3];
        new Random(7).nextBytes(pixels);
        RgbImage image = new RgbImage(16, 16, 3, pixels);
        for (String form : List.of("NCHW RGB", "NHWC BGR")) {
            boolean nhwc = form.startsWith("NHWC");
            String name = "same-" + (nhwc ? "nhwc" : "nchw");
            Path version = repo.resolve(name + "/1");
            Files.createDirectories(version);
            Object[] dims = nhwc ? new Object[] {"N", 16L, 16L, 3L} : new Object[] {"N", 3L, 16L, 16L};
            byte[] identity = OnnxGraphs.node("Identity", List.of("x"), List.of("y"));
            Files.write(
                    version.resolve("model.onnx"),
                    OnnxGraphs.model(
                            OnnxGraphs.graph(
                                    name,
                                    List.of(identity),
                                    List.of(),
                                    List.of(OnnxGraphs.floatValue("x", dims)),
                                    List.of(OnnxGraphs.floatValue("y", dims))),
                            13));
            String shape = nhwc ? "[-1, 16, 16, 3]" : "[-1, 3, 16, 16]";
            Files.writeString(version.resolve("config.json"), """
                    {"name": "%s", "version": 1, "platform": "onnxruntime_onnx", "file": "model.onnx",
                     "task": "embedding",
                     "inputs": [{"name": "x", "datatype": "FP32", "shape": %s, "layout": "%s",
                                 "colour": "%s", "resize": {"policy": "stretch", "width": 16, "height": 16},
                                 "scale": 255.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                                 "accepts_uint8": true}],
                     "outputs": [{"name": "y", "datatype": "FP32", "shape": %s, "role": "features"}]}
                    """.formatted(
                            name, shape, form.substring(0, 4), form.substring(5), shape));
            try (LoadedModel model = runtime.load(name, 1)) {
                TensorSpec spec = model.config().inputs().get(0);
                InferenceEngine engine = new InferenceEngine(runtime);
                List<ByteString> seen = new ArrayList<>();
                for (boolean uint8 : new boolean[] {false, true}) {
                    TensorPreparer.PreparedTensor tensor = TensorPreparer.prepare(image, spec, uint8);
                    assertEquals(uint8 ? "UINT8" : "FP32", tensor.datatype());
                    InferenceEngine.Outcome outcome = engine.infer(
                                    model,
                                    List.of(tensor.toInferRequest(tensor.datatype(), model.config())
                                            .build()))
                            .get(0);
                    assertNull(outcome.error(), form);
                    seen.add(outcome.response().getRawOutputContents(0));
                }
                assertEquals(16 * 16 * 3 * 4, seen.get(0).size());
                assertEquals(seen.get(0), seen.get(1), form + ": UINT8 and FP32 give the model the same bits");
            }
        }
    }

    /** y = ReduceMean over the spatial axes: [N, 3] from NCHW [N, 3, 2, 2] or NHWC [N, 2, 2, 3]. */
    private static byte[] channelMeanModel(boolean nhwc) {
        return nhwc
                ? OnnxGraphs.reduceMean(
                        "channel-mean",
                        OnnxGraphs.floatValue("x", "N", 2L, 2L, 3L),
                        OnnxGraphs.floatValue("y", "N", 3L),
                        1,
                        2)
                : OnnxGraphs.reduceMean(
                        "channel-mean",
                        OnnxGraphs.floatValue("x", "N", 3L, 2L, 2L),
                        OnnxGraphs.floatValue("y", "N", 3L),
                        2,
                        3);
    }

    private static void assertMeans(InferenceEngine.Outcome outcome, float... expected) {
        assertNull(outcome.error());
        assertEquals(
                List.of((long) expected.length, 1L),
                outcome.response().getOutputs(0).getShapeList());
        ByteBuffer y = outcome.response()
                .getRawOutputContents(0)
                .asReadOnlyByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(expected.length * 4, y.remaining(), "exactly its own rows");
        for (float e : expected) {
            assertEquals(e, y.getFloat(), 1e-6);
        }
    }

    /** {@code rows} 2x2 images, every pixel {@code value}, as raw contents. */
    private static ModelInferRequest raw(String id, float value, int rows) {
        ByteBuffer data = ByteBuffer.allocate(rows * 4 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows * 4; i++) {
            data.putFloat(value);
        }
        ModelInferRequest.Builder r = start(id, rows);
        return r.addRawInputContents(ByteString.copyFrom(data.array())).build();
    }

    private static ModelInferRequest typed(String id, float value, int rows) {
        ModelInferRequest.Builder r = start(id, rows);
        for (int i = 0; i < rows * 4; i++) {
            r.getInputsBuilder(0).getContentsBuilder().addFp32Contents(value);
        }
        return r.build();
    }

    private static ModelInferRequest typedShort(String id) {
        ModelInferRequest.Builder r = start(id, 1);
        r.getInputsBuilder(0).getContentsBuilder().addAllFp32Contents(List.of(1f, 2f, 3f));
        return r.build();
    }

    private static ModelInferRequest.Builder start(String id, int rows) {
        ModelInferRequest.Builder r =
                ModelInferRequest.newBuilder().setModelName("mean").setId(id);
        r.addInputsBuilder().setName("x").setDatatype("FP32").addAllShape(List.of((long) rows, 1L, 2L, 2L));
        return r;
    }
}
