package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The CUDA execution provider gives the CPU's answers. Needs the {@code gpu} build ({@code mvn
 * -Pgpu}) and an NVIDIA GPU, so it runs only when {@code VISION_TEST_CUDA=1}, the way ONNX Runtime
 * gates its own CUDA tests.
 */
@EnabledIfEnvironmentVariable(
        named = "VISION_TEST_CUDA",
        matches = "1",
        disabledReason = "CUDA check: set VISION_TEST_CUDA=1 on a GPU machine and build with -Pgpu")
class CudaExecutionTest {

    @Test
    void cudaSessionMatchesCpuSession() {
        assertTrue(
                ModelLoader.cudaAvailable(),
                "VISION_TEST_CUDA=1 but ONNX Runtime has no CUDA provider: build with -Pgpu");
        ModelLoader cpu = new ModelLoader(ModelRepositoryConformanceTest.repository(), ExecutionSettings.CPU);
        ModelLoader cuda = new ModelLoader(
                ModelRepositoryConformanceTest.repository(),
                new ExecutionSettings("cuda", 0, 1L << 30, true, 0, 0, true, 1));
        for (String name : ModelRepositoryConformanceTest.repository().modelNames()) {
            if (!name.equals("lenet") && !name.equals("fashion-cnn")) {
                continue;
            }
            try (LoadedModel onCpu = cpu.load(name, 1);
                    LoadedModel onGpu = cuda.load(name, 1)) {
                assertEquals("cuda", onGpu.provider());
                var request = DynamicBatcherTest.request("g", 5).toBuilder()
                        .setModelName(name)
                        .build();
                var a = new InferenceEngine(cpu).infer(onCpu, List.of(request)).get(0);
                var b = new InferenceEngine(cuda).infer(onGpu, List.of(request)).get(0);
                assertArrayEquals(DynamicBatcherTest.logits(a), DynamicBatcherTest.logits(b), 1e-3f, name);
            }
        }
    }
}
