package io.streamvision.helm;

import static io.streamvision.helm.Chart.chart;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.LintResult;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code helm lint --strict}: the chart and its feature sets pass with nothing above INFO. */
class ChartLintTest {

    @Test
    void lintsCleanWithDefaultValues() {
        assertClean(chart().lint());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "full.yaml",
                "gpu.yaml",
                "hpa.yaml",
                "keda.yaml",
                "sasl-ssl.yaml",
                "mtls-pkcs12.yaml",
                "models-pvc.yaml"
            })
    void lintsCleanWithFeatureValues(String valuesFile) {
        assertClean(chart().values(valuesFile).lint());
    }

    @Test
    void lintFailsWhenValuesBreakTheSchema() {
        LintResult result = chart().values("invalid-replicas.yaml").lint();

        assertTrue(result.isFailed(), "lint passed with scoring.replicas: \"two\"");
        assertTrue(
                result.getMessages().stream().anyMatch(m -> m.contains("/scoring/replicas")),
                result.getMessages()::toString);
    }

    private static void assertClean(LintResult result) {
        assertFalse(result.isFailed(), () -> "lint failed: " + result.getMessages());
        List<String> aboveInfo = result.getMessages().stream()
                .filter(m -> !m.startsWith("[INFO]"))
                .toList();
        assertEquals(List.of(), aboveInfo);
    }
}
