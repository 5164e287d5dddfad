package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.model.ModelConfig;
import org.junit.jupiter.api.Test;

/** A model's own execution block overrides the service's thread and spinning settings for it alone. */
class ExecutionSettingsTest {

    private static final ExecutionSettings SERVICE = new ExecutionSettings("cpu", 0, 0, false, 2, 1, true, 1);

    @Test
    void aModelsThreadsAndSpinningWinWhereItGivesThem() throws Exception {
        ModelConfig.Execution own = ModelConfig.JSON.readValue(
                "{\"provider\": \"auto\", \"intra_op_threads\": 1, \"allow_spinning\": false}",
                ModelConfig.Execution.class);
        ExecutionSettings effective = SERVICE.forModel(own);
        assertEquals(1, effective.intraOpThreads());
        assertEquals(1, effective.interOpThreads(), "not given by the model: the service's");
        assertEquals(false, effective.spinning());
        assertEquals("cpu", effective.provider());
    }

    @Test
    void instancesShareTheCoresUnlessThreadsAreGiven() throws Exception {
        ModelConfig.Execution two = ModelConfig.JSON.readValue("{\"instances\": 2}", ModelConfig.Execution.class);
        ExecutionSettings unset = new ExecutionSettings("cpu", 0, 0, false, 0, 0, true, 1);
        assertEquals(2, unset.forModel(two).instances());
        assertEquals(0, unset.sessionIntraOpThreads(8, 8), "one instance: ONNX Runtime's default");
        assertEquals(4, unset.forModel(two).sessionIntraOpThreads(8, 8), "8 cores between 2 instances");
        assertEquals(1, unset.forModel(two).sessionIntraOpThreads(1, 1), "at least one thread each");
        assertEquals(2, SERVICE.forModel(two).sessionIntraOpThreads(8, 8), "the setting wins");
        assertThrows(IllegalArgumentException.class, () -> new ExecutionSettings("cpu", 0, 0, false, 0, 0, true, 0));
    }

    @Test
    void onACpuInstancesAreCappedAtTheCores() throws Exception {
        ModelConfig.Execution two = ModelConfig.JSON.readValue("{\"instances\": 2}", ModelConfig.Execution.class);
        ExecutionSettings asked = new ExecutionSettings("cpu", 0, 0, false, 0, 0, true, 1).forModel(two);
        assertEquals(1, asked.forCores(1, "cpu").instances(), "one core: one batch at a time");
        assertEquals(0, asked.forCores(1, "cpu").sessionIntraOpThreads(1, 1), "then ONNX Runtime's default");
        assertEquals(
                1,
                asked.forCores(1, "cpu").sessionIntraOpThreads(1, 2),
                "one core of two: one thread, not ONNX Runtime's two taking turns on it");
        assertEquals(
                3, asked.forCores(3, "cpu").sessionIntraOpThreads(6, 8), "the setting's instances share the cores");
        assertTrue(ExecutionSettings.hostCores() >= Runtime.getRuntime().availableProcessors());
        assertSame(asked, asked.forCores(2, "cpu"), "two cores: both instances");
        assertSame(asked, asked.forCores(16, "cpu"));
        assertSame(asked, asked.forCores(1, "cuda"), "a GPU's instances do not run on the cores");
    }

    @Test
    void withoutAnExecutionBlockTheServiceSettingsStand() {
        assertSame(SERVICE, SERVICE.forModel(null));
        assertEquals(SERVICE, SERVICE.forModel(new ModelConfig.Execution("cuda", false)));
    }
}
