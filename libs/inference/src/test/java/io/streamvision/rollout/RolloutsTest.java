package io.streamvision.rollout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RolloutsTest {

    private static final int KEYS = 10_000;

    @Test
    void aCanaryAnswersItsShareOfKeysWithinTwoPercentAndEachKeyKeepsItsVersion() {
        try (Rollouts rollouts = new Rollouts(false)) {
            rollouts.update(
                    "m", RolloutSettings.parse("{\"serving\": 1, \"canary\": {\"version\": 2, \"percent\": 5}}"), "a");
            List<String> atFive = new ArrayList<>();
            for (int i = 0; i < KEYS; i++) {
                String key = "request-" + i;
                String version = rollouts.route("m", key);
                assertEquals(version, rollouts.route("m", key), "stable per key");
                assertTrue(version.isEmpty() || version.equals("2"), version);
                if (version.equals("2")) {
                    atFive.add(key);
                }
            }
            assertEquals(0.05, atFive.size() / (double) KEYS, 0.02, "share at 5 %");

            rollouts.update(
                    "m", RolloutSettings.parse("{\"serving\": 1, \"canary\": {\"version\": 2, \"percent\": 25}}"), "b");
            int atTwentyFive = 0;
            for (int i = 0; i < KEYS; i++) {
                atTwentyFive += rollouts.route("m", "request-" + i).equals("2") ? 1 : 0;
            }
            assertEquals(0.25, atTwentyFive / (double) KEYS, 0.02, "share at 25 %");
            for (String key : atFive) {
                assertEquals("2", rollouts.route("m", key), "a growing share only moves keys to the candidate");
            }
            assertEquals("", rollouts.route("other-model", "request-1"), "no rollout: the serving version");
        }
    }

    @Test
    void aShadowAnswersNothingAndIsPairedOnEverySampledBatch() {
        try (Rollouts rollouts = new Rollouts(false)) {
            rollouts.update(
                    "m", RolloutSettings.parse("{\"serving\": 1, \"shadow\": {\"version\": 2, \"sample\": 3}}"), "a");
            for (int i = 0; i < 1000; i++) {
                assertEquals("", rollouts.route("m", "k" + i));
            }
            int paired = 0;
            for (int batch = 0; batch < 9; batch++) {
                int[] pair = rollouts.pairNext("m");
                if (pair != null) {
                    assertEquals(1, pair[0]);
                    assertEquals(2, pair[1]);
                    paired++;
                }
            }
            assertEquals(3, paired, "1 batch in 3");
        }
    }

    @Test
    void settingsThatCannotBeFollowedAreRefusedWithTheirReason() {
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> RolloutSettings.parse(
                                "{\"serving\": 1, \"shadow\": {\"version\": 2}, \"canary\": {\"version\": 3, \"percent\": 5}}"))
                .getMessage()
                .contains("same candidate"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> RolloutSettings.parse(
                                "{\"serving\": 1, \"shadow\": {\"version\": 2}, \"schedule\": [25, 5, 100]}"))
                .getMessage()
                .contains("rise"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> RolloutSettings.parse("{\"serving\": 1, \"canary\": {\"version\": 1, \"percent\": 5}}"))
                .getMessage()
                .contains("serving version"));
        assertEquals(
                List.of(0.0, 5.0, 25.0, 100.0),
                RolloutSettings.parse(
                                "{\"serving\": 1, \"shadow\": {\"version\": 2}, \"schedule\": [\"shadow\", 5, \"25%\", 100]}")
                        .steps()
                        .stream()
                        .map(RolloutSettings.Step::percent)
                        .toList());
    }

    @Test
    void theScheduleMovesOnWhileTheGatesHoldAndPromotes() {
        try (Rollouts rollouts = new Rollouts(false)) {
            List<Rollouts.Event> events = new ArrayList<>();
            List<String> changed = new ArrayList<>();
            rollouts.addListener(events::add);
            rollouts.onChange(changed::add);
            rollouts.update(
                    "m",
                    RolloutSettings.parse(
                            "{\"serving\": 1, \"shadow\": {\"version\": 2}, \"schedule\": [\"shadow\", 50,"
                                    + " 100], \"step_pairs\": 10, \"gates\": {\"min_agreement\": 0.9, \"min_pairs\": 10}}"),
                    "a");
            assertEquals("started", events.get(0).type());
            feed(rollouts.comparison("m"), 9, true);
            rollouts.evaluate();
            assertEquals(0, rollouts.state("m").step(), "9 pairs: not yet");
            feed(rollouts.comparison("m"), 1, true);
            rollouts.evaluate();
            assertEquals(1, rollouts.state("m").step());
            assertEquals(50.0, rollouts.state("m").percent());
            assertEquals("advanced", events.get(1).type());
            feed(rollouts.comparison("m"), 10, true);
            rollouts.evaluate();
            assertEquals(Rollouts.Status.PROMOTED, rollouts.state("m").status());
            assertEquals(2, rollouts.state("m").servingVersion());
            assertNull(rollouts.pairNext("m"), "promoted: nothing left to compare");
            for (int i = 0; i < 100; i++) {
                assertEquals("2", rollouts.route("m", "k" + i));
            }
            assertEquals("promoted", events.get(2).type());
            assertEquals(List.of("m", "m"), changed);
        }
    }

    @Test
    void aFailingGateRollsBackAtOnceAndSaysWhy() {
        try (Rollouts rollouts = new Rollouts(false)) {
            List<Rollouts.Event> events = new ArrayList<>();
            rollouts.addListener(events::add);
            rollouts.update(
                    "m",
                    RolloutSettings.parse("{\"serving\": 1, \"canary\": {\"version\": 2, \"percent\": 25},"
                            + " \"gates\": {\"min_agreement\": 0.98, \"min_pairs\": 20}}"),
                    "a");
            feed(rollouts.comparison("m"), 15, true);
            feed(rollouts.comparison("m"), 5, false);
            rollouts.evaluate();
            Rollouts.State state = rollouts.state("m");
            assertEquals(Rollouts.Status.ROLLED_BACK, state.status());
            assertTrue(state.reason().contains("agreement 0.7500 < 0.9800"), state.reason());
            assertEquals("rolled_back", events.get(events.size() - 1).type());
            assertEquals(20, events.get(events.size() - 1).figures().pairs());
            for (int i = 0; i < 1000; i++) {
                assertEquals("", rollouts.route("m", "k" + i), "rolled back: the serving version answers all");
            }
        }
    }

    @Test
    void errorsRollBackBeforeAnyAgreementIsKnown() {
        RolloutSettings.Gates gates = new RolloutSettings.Gates(0.98, 0.01, 0, 5000);
        VersionComparison c = new VersionComparison();
        c.ran(true, 99, 2);
        assertNull(Rollouts.failedGate(gates, c.snapshot()), "99 requests: too few to judge 1 %");
        c.ran(true, 1, 0);
        assertTrue(Rollouts.failedGate(gates, c.snapshot()).contains("error rate 0.0200 > 0.0100"));
    }

    @Test
    void aRestartResumesWhereTheEventsLeftOffAndOtherInstancesDecisionsAreFollowed() {
        RolloutSettings settings = RolloutSettings.parse(
                "{\"serving\": 1, \"shadow\": {\"version\": 2}, \"schedule\": [\"shadow\", 5, 100]}");
        try (Rollouts rollouts = new Rollouts(false)) {
            rollouts.restore(new Rollouts.Event("m", "advanced", "a", Rollouts.Status.ACTIVE, 1, 1, 2, 5, "", null, 1));
            rollouts.restore(new Rollouts.Event("m", "started", "a", Rollouts.Status.ACTIVE, 0, 1, 2, 0, "", null, 0));
            rollouts.update("m", settings, "a");
            assertEquals(1, rollouts.state("m").step(), "the newest event wins");
            rollouts.follow(
                    new Rollouts.Event("m", "promoted", "a", Rollouts.Status.PROMOTED, 2, 1, 2, 100, "x", null, 2));
            assertEquals(Rollouts.Status.PROMOTED, rollouts.state("m").status());
        }
        try (Rollouts rollouts = new Rollouts(false)) {
            rollouts.restore(new Rollouts.Event(
                    "m", "rolled_back", "old", Rollouts.Status.ROLLED_BACK, 0, 1, 2, 0, "", null, 1));
            rollouts.update("m", settings, "new");
            assertEquals(Rollouts.Status.ACTIVE, rollouts.state("m").status(), "events of other settings do not apply");
        }
    }

    @Test
    void aDetectorIsGatedOnItsDetectionAgreement() {
        try (Rollouts rollouts = new Rollouts(false)) {
            rollouts.update(
                    "m",
                    RolloutSettings.parse("{\"serving\": 1, \"shadow\": {\"version\": 2},"
                            + " \"gates\": {\"min_agreement\": 0.9, \"min_pairs\": 10}}"),
                    "a");
            ModelConfig serving = VersionComparisonTest.detector(List.of("cat", "dog"));
            ModelConfig moved = VersionComparisonTest.detector(List.of("dog", "cat"));
            var cat = VersionComparisonTest.detections(VersionComparisonTest.box(10, 10, 110, 110, 0.9f, 0));
            for (int i = 0; i < 10; i++) {
                rollouts.comparison("m").pair(ANY, serving, cat, i < 8 ? serving : moved, cat);
            }
            rollouts.evaluate();
            Rollouts.State state = rollouts.state("m");
            assertEquals(Rollouts.Status.ROLLED_BACK, state.status());
            assertTrue(
                    state.reason().contains("detection agreement 0.8000 < 0.9000 over 10 paired images"),
                    state.reason());
        }
    }

    /** {@code n} pairs of a 3-label classifier whose top labels agree or not. */
    static void feed(VersionComparison comparison, int n, boolean agree) {
        ModelConfig config = config(List.of("a", "b", "c"));
        for (int i = 0; i < n; i++) {
            comparison.ran(true, 1, 0);
            comparison.pair(
                    ANY,
                    config,
                    probabilities(0.7f, 0.2f, 0.1f),
                    config,
                    agree ? probabilities(0.6f, 0.3f, 0.1f) : probabilities(0.2f, 0.7f, 0.1f));
        }
    }

    /** A request with no image placement. */
    static final ModelInferRequest ANY = ModelInferRequest.getDefaultInstance();

    static ModelConfig config(List<String> labels) {
        try {
            return ModelConfig.JSON.readValue(
                    "{\"name\": \"m\", \"version\": 1, \"outputs\": [{\"name\": \"probs\", \"datatype\": \"FP32\","
                            + " \"shape\": [-1, 3], \"role\": \"probabilities\"}], \"labels\": "
                            + ModelConfig.JSON.writeValueAsString(labels) + "}",
                    ModelConfig.class);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A response of rows of probabilities, 3 per row. */
    static ModelInferResponse probabilities(float... values) {
        ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            raw.putFloat(v);
        }
        return ModelInferResponse.newBuilder()
                .addOutputs(ModelInferResponse.InferOutputTensor.newBuilder()
                        .setName("probs")
                        .setDatatype("FP32")
                        .addShape(values.length / 3)
                        .addShape(3))
                .addRawOutputContents(ByteString.copyFrom(raw.array()))
                .build();
    }
}
