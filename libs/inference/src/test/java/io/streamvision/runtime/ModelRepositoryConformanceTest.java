package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import io.streamvision.imaging.RgbImage;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.testing.TestModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every committed model loads, matches its config, and the engine gives ONNX Runtime's own answers.
 */
class ModelRepositoryConformanceTest {

    static final Path MODELS = TestModels.dir();

    static ModelRepository repository() {
        return new ModelRepository(MODELS);
    }

    @Test
    void repositoryHoldsTheDemoModels() {
        List<String> names = repository().modelNames();
        assertTrue(names.contains("lenet"), "models/ has lenet: " + names);
    }

    @TestFactory
    Stream<DynamicTest> everyModelLoadsMatchesItsConfigAndAgreesWithOnnxRuntime() {
        ModelRepository repository = repository();
        ModelLoader runtime = new ModelLoader(repository, ExecutionSettings.CPU);
        return repository.modelNames().stream()
                .map(name -> DynamicTest.dynamicTest(name, () -> {
                    ModelConfig config = repository.latest(name).orElseThrow();
                    Path file = repository.versionDir(name, config.version()).resolve(config.file());
                    String sha = HexFormat.of()
                            .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
                    assertEquals(config.sha256(), sha, name + ": sha256 in config.json matches model.onnx");
                    try (LoadedModel model = runtime.load(name, config.version())) {
                        compareWithDirectRun(runtime, model, 3);
                    }
                }));
    }

    /**
     * Runs a random batch through the engine (one request per row) and through the session
     * directly.
     */
    private static void compareWithDirectRun(ModelLoader runtime, LoadedModel model, int rows) throws Exception {
        Random random = new Random(42);
        List<ModelInferRequest> requests = new ArrayList<>();
        Map<String, ByteBuffer> stacked = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (ModelConfig.TensorSpec spec : model.config().inputs()) {
            long[] shape = spec.shape().clone();
            shape[0] = rows;
            long perRow = 1;
            for (int d = 1; d < shape.length; d++) {
                perRow *= shape[d];
            }
            shapes.put(spec.name(), shape);
            stacked.put(
                    spec.name(),
                    ByteBuffer.allocate((int) (perRow * rows * Datatypes.size(spec.datatype())))
                            .order(ByteOrder.LITTLE_ENDIAN));
        }
        for (int r = 0; r < rows; r++) {
            ModelInferRequest.Builder request =
                    ModelInferRequest.newBuilder().setModelName(model.name()).setId("r" + r);
            for (ModelConfig.TensorSpec spec : model.config().inputs()) {
                long[] shape = shapes.get(spec.name()).clone();
                shape[0] = 1;
                long n = 1;
                for (long d : shape) {
                    n *= d;
                }
                ByteBuffer row = ByteBuffer.allocate((int) (n * Datatypes.size(spec.datatype())))
                        .order(ByteOrder.LITTLE_ENDIAN);
                for (long i = 0; i < n; i++) {
                    if (spec.datatype().equals("INT64")) {
                        row.putLong(random.nextInt(4));
                    } else {
                        row.putFloat((float) random.nextGaussian());
                    }
                }
                row.flip();
                stacked.get(spec.name()).put(row.duplicate());
                request.addInputsBuilder().setName(spec.name()).setDatatype(spec.datatype());
                for (long d : shape) {
                    request.getInputsBuilder(request.getInputsCount() - 1).addShape(d);
                }
                request.addRawInputContents(ByteString.copyFrom(row));
            }
            requests.add(request.build());
        }
        List<InferenceEngine.Outcome> outcomes = new InferenceEngine(runtime).infer(model, requests);
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        for (ModelConfig.TensorSpec spec : model.config().inputs()) {
            ByteBuffer data = stacked.get(spec.name());
            data.flip();
            inputs.put(
                    spec.name(),
                    Tensors.fromRaw(runtime.environment(), spec.datatype(), shapes.get(spec.name()), data));
        }
        List<String> outputNames = model.config().outputs().stream()
                .map(ModelConfig.TensorSpec::name)
                .toList();
        try (OrtSession.Result direct = model.run(inputs, outputNames)) {
            for (int r = 0; r < rows; r++) {
                InferenceEngine.Outcome outcome = outcomes.get(r);
                assertTrue(
                        outcome.ok(),
                        () -> model.name() + ": " + outcome.error().getMessage());
                ModelInferResponse response = outcome.response();
                assertEquals("r" + r, response.getId());
                for (int o = 0; o < outputNames.size(); o++) {
                    float[] all = ((OnnxTensor) direct.get(o)).getFloatBuffer().array();
                    int width = all.length / rows;
                    float[] expected = Arrays.copyOfRange(all, r * width, (r + 1) * width);
                    float[] actual = new float[width];
                    response.getRawOutputContents(o)
                            .asReadOnlyByteBuffer()
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .asFloatBuffer()
                            .get(actual);
                    assertArrayEquals(
                            expected, actual, 1e-5f, model.name() + " output " + outputNames.get(o) + " row " + r);
                }
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void configThatDisagreesWithTheOnnxFileFailsNamingModelAndTensor(@TempDir Path temp) throws Exception {
        Path version = lenetCopy(temp);
        String config = Files.readString(MODELS.resolve("lenet/1/config.json"));
        Files.writeString(version.resolve("config.json"), config.replaceFirst("\"logits\"", "\"scores\""));
        ModelLoader runtime = new ModelLoader(new ModelRepository(temp), ExecutionSettings.CPU);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> runtime.load("lenet", 1));
        assertTrue(e.getMessage().contains("lenet") && e.getMessage().contains("'scores'"), e.getMessage());

        Files.writeString(version.resolve("config.json"), config.replaceFirst("28,\\s*28", "32, 32"));
        e = assertThrows(ModelLoadException.class, () -> runtime.load("lenet", 1));
        assertTrue(e.getMessage().contains("'image'") && e.getMessage().contains("dimension"), e.getMessage());
    }

    @Test
    void refusesAModelWhoseFileDoesNotMatchTheSha256OfItsConfig(@TempDir Path temp) throws Exception {
        Path version = lenetCopy(temp);
        String config = Files.readString(MODELS.resolve("lenet/1/config.json"));
        String expected = "0".repeat(64);
        Files.writeString(
                version.resolve("config.json"),
                config.replaceFirst("\"sha256\"\\s*:\\s*\"[0-9a-f]+\"", "\"sha256\": \"" + expected + "\""));
        ModelLoader runtime = new ModelLoader(new ModelRepository(temp), ExecutionSettings.CPU);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> runtime.load("lenet", 1));
        String actual = HexFormat.of()
                .formatHex(
                        MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(version.resolve("model.onnx"))));
        assertTrue(e.getMessage().contains(version.resolve("model.onnx").toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains(actual), e.getMessage());

        // Without a digest the model loads (with a warning); with the right one too.
        Files.writeString(
                version.resolve("config.json"),
                config.replaceFirst("\"sha256\"\\s*:\\s*\"[0-9a-f]+\"", "\"sha256\": \"\""));
        runtime.load("lenet", 1).close();
        Files.writeString(version.resolve("config.json"), config);
        runtime.load("lenet", 1).close();
    }

    /** Normalisation parameters that cannot be applied are refused when the config is read. */
    @Test
    void unusableMeanOrStdIsRefusedWithTheInputNamed(@TempDir Path temp) throws Exception {
        Path version = lenetCopy(temp);
        String shipped = Files.readString(MODELS.resolve("lenet/1/config.json"));
        ModelRepository repository = new ModelRepository(temp);
        Map<String, String> cases = Map.of(
                "\"std\": [0.0]", "std must hold positive finite numbers, not 0.0",
                "\"mean\": [0.1, 0.2]", "mean has 2 values; give one, or one per channel (1)",
                "\"scale\": 0.0", "scale must be a positive number, not 0.0");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String key = c.getKey().substring(1, c.getKey().indexOf('"', 1));
            String edited = shipped.replaceFirst("\"" + key + "\": (\\[[^]]*]|[0-9.]+)", c.getKey());
            assertTrue(edited.contains(c.getKey()), "the case was written: " + c.getKey());
            Files.writeString(version.resolve("config.json"), edited);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> repository.config("lenet", 1));
            assertTrue(e.getMessage().contains("input image: " + c.getValue()), e.getMessage());
        }
    }

    @Test
    void uint8PixelsAreNormalisedLikeTheFp32PathWhenTheModelAcceptsThem(@TempDir Path temp) throws Exception {
        Path version = lenetCopy(temp);
        Files.copy(MODELS.resolve("lenet/1/config.json"), version.resolve("config.json"));
        ModelRepository repository = new ModelRepository(temp);
        ModelLoader runtime = new ModelLoader(repository, ExecutionSettings.CPU);
        ModelConfig config = repository.config("lenet", 1);
        assertTrue(config.imageInput().acceptsUint8());
        RgbImage image = new RgbImage(40, 30, 1, new byte[40 * 30]);
        new Random(9).nextBytes(image.pixels());
        List<ModelInferRequest> requests = new ArrayList<>();
        for (boolean uint8 : new boolean[] {true, false}) {
            var tensor = TensorPreparer.prepare(image, config.imageInput(), uint8);
            assertEquals(uint8 ? "UINT8" : "FP32", tensor.datatype());
            requests.add(tensor.toInferRequest("u", config).build());
        }
        assertEquals(
                4 * requests.get(0).getRawInputContents(0).size(),
                requests.get(1).getRawInputContents(0).size(),
                "UINT8 is a quarter of the bytes");
        try (LoadedModel model = runtime.load("lenet", 1)) {
            List<InferenceEngine.Outcome> outcomes = new InferenceEngine(runtime).infer(model, requests);
            assertTrue(outcomes.get(0).ok() && outcomes.get(1).ok());
            assertArrayEquals(
                    DynamicBatcherTest.logits(outcomes.get(1)),
                    DynamicBatcherTest.logits(outcomes.get(0)),
                    0f,
                    "UINT8 normalised in the engine gives the logits of FP32 normalised in preprocessing");
        }
    }

    @Test
    void modelThatRequiresCudaRefusesToLoadWithoutIt(@TempDir Path temp) throws Exception {
        Assumptions.assumeFalse(
                ModelLoader.cudaAvailable(),
                "this build has the CUDA provider; the refusal can only be seen on a CPU build");
        Path version = lenetCopy(temp);
        Files.writeString(
                version.resolve("config.json"),
                Files.readString(MODELS.resolve("lenet/1/config.json"))
                        .replace("\"require_cuda\": false", "\"require_cuda\": true"));
        ModelLoader runtime = new ModelLoader(new ModelRepository(temp), ExecutionSettings.CPU);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> runtime.load("lenet", 1));
        assertTrue(e.getMessage().contains("requires CUDA"), e.getMessage());

        ModelLoader auto = new ModelLoader(repository(), new ExecutionSettings("auto", 0, 0, false, 1, 1, true, 1));
        try (LoadedModel model = auto.load("lenet", 1)) {
            assertEquals("cpu", model.provider(), "auto falls back to CPU without CUDA");
        }
    }

    @Test
    void newVersionReplacesTheOldOnlyWhenItLoads(@TempDir Path temp) throws Exception {
        Path v1 = temp.resolve("lenet/1");
        Files.createDirectories(v1);
        Files.copy(MODELS.resolve("lenet/1/model.onnx"), v1.resolve("model.onnx"));
        Files.copy(MODELS.resolve("lenet/1/config.json"), v1.resolve("config.json"));
        ModelRegistry registry =
                new ModelRegistry(new ModelLoader(new ModelRepository(temp), ExecutionSettings.CPU), List.of("lenet"));
        assertEquals(1, registry.refresh());
        LoadedModel inFlight = registry.acquire("lenet", "").orElseThrow();

        Path broken = temp.resolve("lenet/2");
        Files.createDirectories(broken);
        Files.writeString(broken.resolve("model.onnx"), "not an onnx file");
        Files.writeString(
                broken.resolve("config.json"),
                Files.readString(v1.resolve("config.json")).replace("\"version\": 1", "\"version\": 2"));
        assertEquals(0, registry.refresh());
        assertEquals(1, registry.serving().get("lenet").version(), "v1 keeps serving when v2 fails");
        assertTrue(registry.failures().containsKey("lenet/2"));

        Path good = temp.resolve("lenet/3");
        Files.createDirectories(good);
        Files.copy(v1.resolve("model.onnx"), good.resolve("model.onnx"));
        Files.writeString(
                good.resolve("config.json"),
                Files.readString(v1.resolve("config.json")).replace("\"version\": 1", "\"version\": 3"));
        assertEquals(1, registry.refresh());
        assertEquals(3, registry.serving().get("lenet").version());
        assertTrue(inFlight.retain(), "a request holding v1 can still use it after v3 took over");
        inFlight.release();
        inFlight.release();
        assertFalse(inFlight.retain(), "v1 closes once its last user is done");
        registry.close();
    }

    /**
     * A served version whose config.json is edited in place (a shared models volume updated under a
     * running service) is loaded again; a broken edit leaves the loaded one serving and is not
     * retried until the file changes again.
     */
    @Test
    void aServedVersionIsLoadedAgainWhenItsConfigIsEditedInPlace(@TempDir Path temp) throws Exception {
        Path version = lenetCopy(temp);
        Path config = version.resolve("config.json");
        String shipped = Files.readString(MODELS.resolve("lenet/1/config.json"));
        Files.writeString(config, shipped.replace("\"accepts_uint8\": true", "\"accepts_uint8\": false"));
        try (ModelRegistry registry = new ModelRegistry(
                new ModelLoader(new ModelRepository(temp), ExecutionSettings.CPU), List.of("lenet"))) {
            assertEquals(1, registry.refresh());
            LoadedModel first = registry.current("lenet");
            assertFalse(first.config().imageInput().acceptsUint8());
            assertEquals(0, registry.refresh(), "nothing changed, nothing loaded");

            Files.writeString(config, shipped);
            assertEquals(1, registry.refresh(), "the edited config is loaded");
            assertTrue(registry.current("lenet").config().imageInput().acceptsUint8());
            assertNotSame(first, registry.current("lenet"));

            Files.writeString(config, "{ not json");
            assertEquals(0, registry.refresh());
            assertTrue(registry.current("lenet").config().imageInput().acceptsUint8(), "the loaded one serves on");
            assertTrue(
                    registry.failures().containsKey("lenet/1"),
                    registry.failures().toString());
            assertEquals(0, registry.refresh(), "a broken edit is not retried while the file stays the same");

            Files.writeString(config, shipped.replace("\"max_queue_size\": 1024", "\"max_queue_size\": 512"));
            assertEquals(1, registry.refresh(), "the mended file is loaded");
            assertEquals(512, registry.current("lenet").config().batching().maxQueueSize());
            assertTrue(registry.failures().isEmpty(), registry.failures().toString());
        }
    }

    /** A repository in {@code temp} with lenet's ONNX file as version 1 and no config yet. */
    private static Path lenetCopy(Path temp) throws IOException {
        Path version = temp.resolve("lenet/1");
        Files.createDirectories(version);
        Files.copy(MODELS.resolve("lenet/1/model.onnx"), version.resolve("model.onnx"));
        return version;
    }
}
