package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.streamvision.proto.inference.ModelInferRequest;

class DynamicBatcherTest {

    private ModelRegistry registry;
    private InferenceEngine engine;
    private SimpleMeterRegistry meters;

    @BeforeEach
    void setUp() {
        OnnxRuntime runtime = new OnnxRuntime(ModelRepositoryConformanceTest.repository(), ExecutionSettings.CPU);
        registry = new ModelRegistry(runtime, List.of("lenet"));
        registry.refresh();
        engine = new InferenceEngine(runtime);
        meters = new SimpleMeterRegistry();
    }

    @AfterEach
    void tearDown() {
        registry.close();
    }

    static ModelInferRequest request(String id, long seed) {
        Random random = new Random(seed);
        ByteBuffer pixels = ByteBuffer.allocate(28 * 28 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 28 * 28; i++) {
            pixels.putFloat((float) random.nextGaussian());
        }
        ModelInferRequest.Builder r = ModelInferRequest.newBuilder().setModelName("lenet").setId(id);
        r.addInputsBuilder().setName("image").setDatatype("FP32").addAllShape(List.of(1L, 1L, 28L, 28L));
        return r.addRawInputContents(ByteString.copyFrom(pixels.array())).build();
    }

    static float[] logits(InferenceEngine.Outcome outcome) {
        float[] out = new float[10];
        outcome.response().getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer().get(out);
        return out;
    }

    @Test
    void concurrentRequestsShareBatchesAndEachGetsItsOwnRows() throws Exception {
        try (DynamicBatcher batcher = new DynamicBatcher(registry, engine, meters,
                name -> Optional.of(new BatchingSettings(8, 50_000, 100)))) {
            List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                futures.add(batcher.submit(request("r" + i, i)));
            }
            LoadedModel model = registry.acquire("lenet", "").orElseThrow();
            try {
                for (int i = 0; i < 24; i++) {
                    InferenceEngine.Outcome batched = futures.get(i).get();
                    assertTrue(batched.ok());
                    assertEquals("r" + i, batched.response().getId());
                    InferenceEngine.Outcome alone = engine.infer(model, List.of(request("r" + i, i))).get(0);
                    assertArrayEquals(logits(alone), logits(batched), 1e-5f, "request " + i + " got its own rows");
                }
            } finally {
                model.release();
            }
            double executions = meters.get("vision_inference_exec_count").counter().count();
            double rows = meters.get("vision_inference_count").counter().count();
            assertEquals(24, rows);
            assertTrue(executions <= 6, "24 requests ran in " + executions + " batches of up to 8");
        }
    }

    @Test
    void fullQueueRefusesWithResourceExhausted() throws Exception {
        try (DynamicBatcher batcher = new DynamicBatcher(registry, engine, meters,
                name -> Optional.of(new BatchingSettings(1, 1_000_000, 2)))) {
            List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                futures.add(batcher.submit(request("q" + i, i)));
            }
            long refused = futures.stream().map(CompletableFuture::join)
                    .filter(o -> !o.ok() && o.error().kind() == InferenceException.Kind.RESOURCE_EXHAUSTED).count();
            assertTrue(refused > 0, "some requests are refused when more than 2 wait");
            assertTrue(futures.stream().map(CompletableFuture::join).anyMatch(InferenceEngine.Outcome::ok));
        }
    }

    @Test
    void unknownModelIsNotFound() {
        try (DynamicBatcher batcher = new DynamicBatcher(registry, engine, meters, DynamicBatcher.fromConfigs(registry))) {
            InferenceEngine.Outcome outcome = batcher.submit(request("x", 1).toBuilder().setModelName("nope").build()).join();
            assertEquals(InferenceException.Kind.NOT_FOUND, outcome.error().kind());
        }
    }
}
