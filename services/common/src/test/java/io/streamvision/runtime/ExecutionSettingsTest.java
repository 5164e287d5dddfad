package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.streamvision.model.ModelConfig;
import org.junit.jupiter.api.Test;

/** A model's own execution block overrides the service's thread and spinning settings for it alone. */
class ExecutionSettingsTest {

    private static final ExecutionSettings SERVICE = new ExecutionSettings("cpu", 0, 0, false, 2, 1, true);

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
    void withoutAnExecutionBlockTheServiceSettingsStand() {
        assertSame(SERVICE, SERVICE.forModel(null));
        assertEquals(SERVICE, SERVICE.forModel(new ModelConfig.Execution("cuda", false)));
    }
}
