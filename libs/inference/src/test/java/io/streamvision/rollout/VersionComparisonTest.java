package io.streamvision.rollout;

import static io.streamvision.rollout.RolloutsTest.config;
import static io.streamvision.rollout.RolloutsTest.probabilities;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.model.ModelConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class VersionComparisonTest {

    @Test
    void agreementOverlapAndProbabilityDifferencesAreThoseComputedByHand() {
        ModelConfig labels = config(List.of("a", "b", "c"));
        VersionComparison c = new VersionComparison();
        // Row 1: both say a; |0.7-0.6| + |0.2-0.3| + 0 = 0.2. Row 2: b against a; 0.4 + 0.4 + 0 = 0.8.
        c.pair(
                labels,
                probabilities(0.7f, 0.2f, 0.1f, 0.1f, 0.8f, 0.1f),
                labels,
                probabilities(0.6f, 0.3f, 0.1f, 0.5f, 0.4f, 0.1f));
        VersionComparison.Snapshot s = c.snapshot();
        assertEquals(1, s.pairs());
        assertEquals(2, s.classifiedRows());
        assertEquals(0.5, s.top1Agreement(), 1e-9);
        assertEquals(1.0, s.top5Overlap(), 1e-9, "three labels: every top list holds all three");
        assertEquals(1.0 / 6, s.meanAbsDiff(), 1e-6);
        assertEquals(0.4, s.maxAbsDiff(), 1e-6);
    }

    @Test
    void labelsAreMatchedByNameSoAShuffledLabelListDisagrees() {
        VersionComparison c = new VersionComparison();
        // The same numbers under a shuffled label list: the candidate now answers b.
        c.pair(
                config(List.of("a", "b", "c")),
                probabilities(0.7f, 0.2f, 0.1f),
                config(List.of("b", "a", "c")),
                probabilities(0.7f, 0.2f, 0.1f));
        VersionComparison.Snapshot s = c.snapshot();
        assertEquals(0.0, s.top1Agreement());
        assertEquals(0.5, s.maxAbsDiff(), 1e-6, "a: 0.7 against 0.2");
    }

    @Test
    void aFailedSideMakesNoPairAndLatencyIsComparedOnTheSameBatches() {
        VersionComparison c = new VersionComparison();
        ModelConfig labels = config(List.of("a", "b", "c"));
        c.pair(labels, probabilities(0.7f, 0.2f, 0.1f), labels, null);
        assertEquals(0, c.snapshot().pairs());
        assertTrue(Double.isNaN(c.snapshot().top1Agreement()));
        for (int i = 1; i <= 100; i++) {
            c.timed(i * 1_000_000L, i * 2_000_000L);
        }
        assertEquals(99.0, c.snapshot().servingP99Ms(), 1e-9);
        assertEquals(198.0, c.snapshot().candidateP99Ms(), 1e-9);
        assertEquals(2.0, c.snapshot().p99Ratio(), 1e-9);
    }
}
