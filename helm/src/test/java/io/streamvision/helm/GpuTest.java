package io.streamvision.helm;

import static io.streamvision.helm.Chart.chart;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** scoring.gpu.enabled: the CUDA image on an NVIDIA GPU; the other services stay as they are. */
class GpuTest {

    private static Manifests cpu;
    private static Manifests gpu;

    @BeforeAll
    static void render() {
        cpu = chart().render();
        gpu = chart().values("gpu.yaml").render();
    }

    @Test
    void scoringRequestsGpusInItsLimits() {
        JsonNode limits = gpu.container("scoring").at("/resources/limits");
        assertEquals(2, limits.path("nvidia.com/gpu").asInt());
        assertEquals(
                cpu.container("scoring").at("/resources/limits/memory").asText(),
                limits.path("memory").asText());
    }

    @Test
    void scoringRunsTheCudaImageWithTheCudaProvider() {
        assertEquals(
                "docker.io/streamvision/scoring:" + Chart.appVersion() + "-cuda",
                gpu.container("scoring").path("image").asText());
        assertEquals("cuda", gpu.config("scoring").get("VISION_SCORING_EXECUTION_PROVIDER"));
    }

    @Test
    void scoringLandsOnGpuNodes() {
        JsonNode pod = gpu.podSpec("scoring");
        assertEquals("nvidia", pod.path("runtimeClassName").asText());
        assertEquals("true", pod.at("/nodeSelector/nvidia.com~1gpu.present").asText());
        boolean tolerated = false;
        for (JsonNode toleration : pod.path("tolerations")) {
            tolerated |= "nvidia.com/gpu".equals(toleration.path("key").asText())
                    && "Exists".equals(toleration.path("operator").asText())
                    && "NoSchedule".equals(toleration.path("effect").asText());
        }
        assertTrue(tolerated, pod.path("tolerations")::toString);
    }

    @Test
    void preprocessAndCaptioningAreUnchanged() {
        for (String component : new String[] {"preprocess", "captioning"}) {
            assertEquals(cpu.deployment(component), gpu.deployment(component), component);
            assertEquals(cpu.config(component), gpu.config(component), component);
        }
    }
}
