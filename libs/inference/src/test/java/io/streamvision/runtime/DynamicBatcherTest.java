package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {

    private ModelRegistry registry;
    private InferenceEngine engine;
    private SimpleMeterRegistry meters;

    @BeforeEach
    void setUp() {
        ModelLoader runtime = new ModelLoader(ModelRepositoryConformanceTest.repository(), ExecutionSettings.CPU);
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
        ModelInferRequest.Builder r =
                ModelInferRequest.newBuilder().setModelName("lenet").setId(id);
        r.addInputsBuilder().setName("image").setDatatype("FP32").addAllShape(List.of(1L, 1L, 28L, 28L));
        return r.addRawInputContents(ByteString.copyFrom(pixels.array())).build();
    }

    static float[] logits(InferenceEngine.Outcome outcome) {
        float[] out = new float[10];
        outcome.response()
                .getRawOutputContents(0)
                .asReadOnlyByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(out);
        return out;
    }

    /** A batcher whose every model batches with these settings. */
    private DynamicBatcher batcher(BatchingSettings settings) {
        return new DynamicBatcher(registry, engine, meters, name -> Optional.of(settings));
    }

    @Test
    void concurrentRequestsShareBatchesAndEachGetsItsOwnRows() throws Exception {
        try (DynamicBatcher batcher = batcher(new BatchingSettings(8, 50_000, 100))) {
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
                    InferenceEngine.Outcome alone =
                            engine.infer(model, List.of(request("r" + i, i))).get(0);
                    assertArrayEquals(logits(alone), logits(batched), 1e-5f, "request " + i + " got its own rows");
                }
            } finally {
                model.release();
            }
            double executions =
                    meters.get("vision_inference_exec_count").counter().count();
            double rows = meters.get("vision_inference_count").counter().count();
            assertEquals(24, rows);
            assertTrue(executions <= 6, "24 requests ran in " + executions + " batches of up to 8");
        }
    }

    @Test
    void twoInstancesRunBatchesOnTwoThreadsAndEachRequestGetsItsOwnRows() throws Exception {
        BatchingSettings two = new BatchingSettings(8, 0, 1000, 1, 1, BatchingSettings.QueuePolicy.NONE, 2);
        Set<String> threads = ConcurrentHashMap.newKeySet();
        try (DynamicBatcher batcher = batcher(two)) {
            List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                CompletableFuture<InferenceEngine.Outcome> f = batcher.submit(request("i" + i, i % 7));
                f.whenComplete((o, e) -> threads.add(Thread.currentThread().getName()));
                futures.add(f);
            }
            LoadedModel model = registry.acquire("lenet", "").orElseThrow();
            try {
                for (int seed = 0; seed < 7; seed++) {
                    float[] alone = logits(
                            engine.infer(model, List.of(request("alone", seed))).get(0));
                    for (int i = seed; i < 400; i += 7) {
                        InferenceEngine.Outcome batched = futures.get(i).get();
                        assertEquals("i" + i, batched.response().getId());
                        assertArrayEquals(alone, logits(batched), 1e-5f, "request " + i + " got its own rows");
                    }
                }
            } finally {
                model.release();
            }
        }
        assertTrue(
                threads.containsAll(List.of("batcher-lenet-0", "batcher-lenet-1")),
                "both instances ran batches: " + threads);
    }

    @Test
    void aModelsInstancesComeFromItsConfig() throws Exception {
        // The shipped fashion-cnn asks for two instances in its config.json; the service's default is one.
        try (ModelRegistry shipped = new ModelRegistry(
                new ModelLoader(ModelRepositoryConformanceTest.repository(), ExecutionSettings.CPU),
                List.of("fashion-cnn"))) {
            shipped.refresh();
            assertEquals(2, shipped.current("fashion-cnn").instances());
            Set<String> threads = ConcurrentHashMap.newKeySet();
            try (DynamicBatcher batcher =
                    new DynamicBatcher(shipped, engine, meters, DynamicBatcher.fromConfigs(shipped))) {
                assertEquals(
                        2,
                        DynamicBatcher.fromConfigs(shipped)
                                .apply("fashion-cnn")
                                .orElseThrow()
                                .instances());
                List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
                for (int i = 0; i < 400; i++) {
                    ModelInferRequest r = request("f" + i, i).toBuilder()
                            .setModelName("fashion-cnn")
                            .build();
                    CompletableFuture<InferenceEngine.Outcome> f = batcher.submit(r);
                    f.whenComplete((o, e) -> threads.add(Thread.currentThread().getName()));
                    futures.add(f);
                }
                futures.forEach(f -> assertTrue(f.join().ok()));
            }
            assertTrue(
                    threads.containsAll(List.of("batcher-fashion-cnn-0", "batcher-fashion-cnn-1")),
                    "both instances ran batches: " + threads);
        }
    }

    @Test
    void newSettingsStartANewQueueAndTheOldOneDrains() throws Exception {
        AtomicReference<BatchingSettings> settings = new AtomicReference<>(new BatchingSettings(8, 0, 1000));
        Set<String> threads = ConcurrentHashMap.newKeySet();
        try (DynamicBatcher batcher =
                new DynamicBatcher(registry, engine, meters, name -> Optional.of(settings.get()))) {
            List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                if (i == 100) {
                    // As when a new version with another instance count is swapped in.
                    settings.set(new BatchingSettings(8, 0, 1000, 1, 1, BatchingSettings.QueuePolicy.NONE, 2));
                }
                CompletableFuture<InferenceEngine.Outcome> f = batcher.submit(request("s" + i, i % 7));
                f.whenComplete((o, e) -> threads.add(Thread.currentThread().getName()));
                futures.add(f);
            }
            for (int i = 0; i < 400; i++) {
                assertEquals("s" + i, futures.get(i).get().response().getId(), "every request answered");
            }
            assertTrue(
                    threads.containsAll(List.of("batcher-lenet-0", "batcher-lenet-1")),
                    "the new settings' two instances ran batches: " + threads);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (alive("batcher-lenet") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertFalse(alive("batcher-lenet"), "the old queue's worker ended once it had drained");
            assertEquals(0, batcher.queued("lenet"));
        }
    }

    /**
     * Requests that time out (REJECT) in a queue retired by a settings change are still answered:
     * the old queue's worker completes them before it ends.
     */
    @Test
    void requestsThatTimeOutInARetiredQueueAreAnswered() throws Exception {
        BatchingSettings.QueuePolicy reject = new BatchingSettings.QueuePolicy(true, 300, false);
        AtomicReference<BatchingSettings> settings =
                new AtomicReference<>(new BatchingSettings(1, 0, 10_000, 1, 1, reject));
        try (DynamicBatcher batcher =
                new DynamicBatcher(registry, engine, meters, name -> Optional.of(settings.get()))) {
            List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                futures.add(batcher.submit(request("t" + i, i % 7)));
            }
            settings.set(new BatchingSettings(8, 0, 10_000));
            futures.add(batcher.submit(request("after", 1)));
            int timedOut = 0;
            for (CompletableFuture<InferenceEngine.Outcome> f : futures) {
                InferenceEngine.Outcome o = f.get(10, TimeUnit.SECONDS);
                if (!o.ok()) {
                    assertEquals(InferenceException.Kind.UNAVAILABLE, o.error().kind());
                    timedOut++;
                }
            }
            assertTrue(timedOut > 0, "some requests waited past their 300 us timeout");
            assertTrue(futures.get(500).join().ok(), "the request to the new queue ran");
        }
    }

    private static boolean alive(String threadName) {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals(threadName) && t.isAlive());
    }

    @Test
    void fullQueueRefusesWithResourceExhausted() throws Exception {
        try (DynamicBatcher batcher = batcher(new BatchingSettings(1, 1_000_000, 2))) {
            List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                futures.add(batcher.submit(request("q" + i, i)));
            }
            long refused = futures.stream()
                    .map(CompletableFuture::join)
                    .filter(o -> !o.ok() && o.error().kind() == InferenceException.Kind.RESOURCE_EXHAUSTED)
                    .count();
            assertTrue(refused > 0, "some requests are refused when more than 2 wait");
            assertTrue(futures.stream().map(CompletableFuture::join).anyMatch(InferenceEngine.Outcome::ok));
            InferenceStatistics.Version stats =
                    batcher.statistics().snapshot().get("lenet").get("1");
            assertEquals(
                    refused,
                    stats.failures(InferenceStatistics.FailureReason.REJECTED),
                    "refusals count as Triton's REJECTED failures");
            assertEquals(refused, stats.fail().count(), "and nothing else failed");
        }
    }

    @Test
    void unknownModelIsNotFound() {
        try (DynamicBatcher batcher =
                new DynamicBatcher(registry, engine, meters, DynamicBatcher.fromConfigs(registry))) {
            InferenceEngine.Outcome outcome = batcher.submit(
                            request("x", 1).toBuilder().setModelName("nope").build())
                    .join();
            assertEquals(InferenceException.Kind.NOT_FOUND, outcome.error().kind());
        }
    }

    private static ModelInferRequest withParameter(ModelInferRequest r, String name, long value) {
        return r.toBuilder()
                .putParameters(
                        name, InferParameter.newBuilder().setInt64Param(value).build())
                .build();
    }

    @Test
    void higherPriorityRequestsAreBatchedFirst() throws Exception {
        // The worker drains the queue while the requests are still being submitted; a run counts
        // only when enough low-priority requests were still waiting behind the high one.
        for (int attempt = 1; ; attempt++) {
            try (DynamicBatcher batcher = new DynamicBatcher(
                    registry,
                    engine,
                    meters,
                    name -> Optional.of(new BatchingSettings(1, 0, 1000, 2, 2, BatchingSettings.QueuePolicy.NONE)))) {
                AtomicInteger done = new AtomicInteger();
                Map<String, Integer> rank = new ConcurrentHashMap<>();
                List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
                List<ModelInferRequest> low = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    low.add(request("low" + i, i));
                }
                ModelInferRequest high = withParameter(request("high", 99), "priority", 1);
                for (ModelInferRequest r : low) {
                    futures.add(batcher.submit(r).whenComplete((o, e) -> rank.put(r.getId(), done.incrementAndGet())));
                }
                futures.add(batcher.submit(high).whenComplete((o, e) -> rank.put("high", done.incrementAndGet())));
                int doneAtSubmit = done.get();
                futures.forEach(f -> assertTrue(f.join().ok()));
                if (doneAtSubmit > 30 && attempt < 10) {
                    continue;
                }
                System.out.printf(
                        "[batcher] the priority-1 request, sent after 40 of priority 2 (%d of them done by"
                                + " then), finished %d of 41%n",
                        doneAtSubmit, rank.get("high"));
                assertTrue(doneAtSubmit <= 30, "low-priority requests were still waiting: " + doneAtSubmit + " done");
                // At most the batch running when it arrived finishes before it.
                assertTrue(
                        rank.get("high") <= doneAtSubmit + 2,
                        "the priority-1 request overtakes the queue: finished " + rank.get("high") + " with "
                                + doneAtSubmit + " done when it was sent");
                return;
            }
        }
    }

    @Test
    void requestsPastTheirQueueTimeoutAreRejectedOrDelayed() throws Exception {
        BatchingSettings reject =
                new BatchingSettings(1, 0, 1000, 1, 1, new BatchingSettings.QueuePolicy(true, 20_000, false));
        try (DynamicBatcher batcher = batcher(reject)) {
            List<ModelInferRequest> requests = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                requests.add(request("t" + i, i));
            }
            batcher.submit(request("warm-up", 0)).join();
            List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
            for (ModelInferRequest r : requests) {
                futures.add(batcher.submit(r));
            }
            List<InferenceEngine.Outcome> outcomes =
                    futures.stream().map(CompletableFuture::join).toList();
            long timedOut = outcomes.stream()
                    .filter(o -> !o.ok())
                    .peek(o -> {
                        assertEquals(
                                InferenceException.Kind.UNAVAILABLE, o.error().kind());
                        assertTrue(
                                o.error().getMessage().contains("past its timeout of 20000 us"),
                                o.error().getMessage());
                    })
                    .count();
            System.out.printf("[batcher] REJECT, 20 ms queue timeout: %d of 200 requests timed out%n", timedOut);
            assertTrue(
                    timedOut > 0 && timedOut < 200,
                    "requests queued behind many others time out, others run: " + timedOut);
        }
        BatchingSettings delay =
                new BatchingSettings(1, 0, 1000, 1, 1, new BatchingSettings.QueuePolicy(false, 2000, false));
        try (DynamicBatcher batcher = batcher(delay)) {
            List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < 80; i++) {
                futures.add(batcher.submit(request("d" + i, i)));
            }
            assertTrue(
                    futures.stream().map(CompletableFuture::join).allMatch(InferenceEngine.Outcome::ok),
                    "DELAY runs timed-out requests after the others instead of refusing them");
        }
    }

    @Test
    void aRequestsOwnTimeoutCountsOnlyWhenThePolicyAllowsIt() throws Exception {
        for (boolean allow : new boolean[] {true, false}) {
            BatchingSettings settings =
                    new BatchingSettings(1, 0, 1000, 1, 1, new BatchingSettings.QueuePolicy(true, 0, allow));
            try (DynamicBatcher batcher = batcher(settings)) {
                List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    futures.add(batcher.submit(request("o" + i, i)));
                }
                InferenceEngine.Outcome impatient = batcher.submit(withParameter(request("impatient", 7), "timeout", 1))
                        .join();
                futures.forEach(f -> assertTrue(f.join().ok(), "no default timeout"));
                assertEquals(!allow, impatient.ok(), "a 1 us timeout of its own, override allowed: " + allow);
            }
        }
    }
}
