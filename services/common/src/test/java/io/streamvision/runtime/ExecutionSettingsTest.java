package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
        assertEquals(0, unset.sessionIntraOpThreads(8), "one instance: ONNX Runtime's default");
        assertEquals(4, unset.forModel(two).sessionIntraOpThreads(8), "8 cores between 2 instances");
        assertEquals(1, unset.forModel(two).sessionIntraOpThreads(1), "at least one thread each");
        assertEquals(2, SERVICE.forModel(two).sessionIntraOpThreads(8), "the setting wins");
        assertThrows(IllegalArgumentException.class, () -> new ExecutionSettings("cpu", 0, 0, false, 0, 0, true, -1));
    }

    @Test
    void instancesZeroIsOneOnCudaAndTwoOnCpu() {
        ExecutionSettings chosen = new ExecutionSettings("auto", 0, 0, false, 0, 0, true, 0);
        assertEquals(1, chosen.resolved("cuda", 16).instances());
        assertEquals(2, chosen.resolved("cpu", 16).instances());
        assertEquals(8, chosen.resolved("cpu", 16).sessionIntraOpThreads(16));
        assertEquals(1, chosen.resolved("cpu", 1).instances(), "one core: one instance");
        assertEquals(0, chosen.resolved("cpu", 1).sessionIntraOpThreads(1), "ONNX Runtime's default");
        ExecutionSettings three = new ExecutionSettings("cpu", 0, 0, false, 0, 0, true, 3);
        assertSame(three, three.resolved("cpu", 16), "a count given stays");
    }

    @Test
    void withoutAnExecutionBlockTheServiceSettingsStand() {
        assertSame(SERVICE, SERVICE.forModel(null));
        assertEquals(SERVICE, SERVICE.forModel(new ModelConfig.Execution("cuda", false)));
    }
}
