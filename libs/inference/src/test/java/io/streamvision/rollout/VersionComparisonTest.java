package io.streamvision.rollout;

import static io.streamvision.rollout.RolloutsTest.ANY;
import static io.streamvision.rollout.RolloutsTest.config;
import static io.streamvision.rollout.RolloutsTest.probabilities;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

class VersionComparisonTest {

    @Test
    void agreementOverlapAndProbabilityDifferencesAreThoseComputedByHand() {
        ModelConfig labels = config(List.of("a", "b", "c"));
        VersionComparison c = new VersionComparison();
        // Row 1: both say a; |0.7-0.6| + |0.2-0.3| + 0 = 0.2. Row 2: b against a; 0.4 + 0.4 + 0 = 0.8.
        c.pair(
                ANY,
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
                ANY,
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
        c.pair(ANY, labels, probabilities(0.7f, 0.2f, 0.1f), labels, null);
        assertEquals(0, c.snapshot().pairs());
        assertTrue(Double.isNaN(c.snapshot().top1Agreement()));
        for (int i = 1; i <= 100; i++) {
            c.timed(i * 1_000_000L, i * 2_000_000L);
        }
        assertEquals(99.0, c.snapshot().servingP99Ms(), 1e-9);
        assertEquals(198.0, c.snapshot().candidateP99Ms(), 1e-9);
        assertEquals(2.0, c.snapshot().p99Ratio(), 1e-9);
    }

    @Test
    void aDetectorsObjectsAreMatchedByLabelAndOverlapImageByImage() {
        ModelConfig serving = detector(List.of("cat", "dog", "car"));
        VersionComparison c = new VersionComparison();
        // Image 1: the same cat (IoU 0.81) and the same dog; the candidate also finds a car: 2 × 2 / (2 + 3).
        c.pair(
                ANY,
                serving,
                detections(box(10, 10, 110, 110, 0.9f, 0), box(200, 200, 300, 300, 0.8f, 1)),
                serving,
                detections(
                        box(10, 10, 100, 100, 0.9f, 0),
                        box(200, 200, 300, 300, 0.7f, 1),
                        box(400, 10, 500, 100, 0.6f, 2)));
        // Image 2: a box in the same place under another label, and one overlapping too little (IoU 1/3).
        c.pair(
                ANY,
                serving,
                detections(box(10, 10, 110, 110, 0.9f, 0), box(200, 200, 300, 300, 0.8f, 1)),
                serving,
                detections(box(10, 10, 110, 110, 0.9f, 1), box(250, 200, 350, 300, 0.8f, 1)));
        // Image 3: neither finds anything (rows under the threshold): full agreement.
        c.pair(ANY, serving, detections(box(1, 1, 9, 9, 0.1f, 0)), serving, detections());
        VersionComparison.Snapshot s = c.snapshot();
        assertEquals(3, s.pairs());
        assertEquals(3, s.detectedImages());
        assertEquals(0, s.classifiedRows());
        assertEquals((0.8 + 0 + 1) / 3, s.detectionAgreement(), 1e-6);
        assertEquals((0.81 + 1) / 2, s.matchedIou(), 1e-6);
        assertEquals(s.detectionAgreement(), s.agreement());
        assertEquals(3, s.agreementRows());
        assertEquals("detection agreement", s.agreementName());
        assertEquals("images", s.agreementUnit());
        assertTrue(Double.isNaN(s.top1Agreement()));
    }

    @Test
    void aDetectorCandidateWhoseLabelListMovedDisagreesAndEachObjectIsMatchedOnce() {
        VersionComparison c = new VersionComparison();
        // The same rows under a shuffled label list: every object has another name.
        c.pair(
                ANY,
                detector(List.of("cat", "dog", "car")),
                detections(box(10, 10, 110, 110, 0.9f, 0)),
                detector(List.of("dog", "cat", "car")),
                detections(box(10, 10, 110, 110, 0.9f, 0)));
        assertEquals(0.0, c.snapshot().detectionAgreement());
        assertTrue(Double.isNaN(c.snapshot().matchedIou()));
        // Two serving cats over one candidate cat: one match, 2 × 1 / 3.
        VersionComparison once = new VersionComparison();
        ModelConfig config = detector(List.of("cat", "dog", "car"));
        once.pair(
                ANY,
                config,
                detections(box(10, 10, 110, 110, 0.9f, 0), box(15, 15, 115, 115, 0.8f, 0)),
                config,
                detections(box(10, 10, 110, 110, 0.9f, 0)));
        assertEquals(2.0 / 3, once.snapshot().detectionAgreement(), 1e-6);
        assertEquals(1.0, once.snapshot().matchedIou(), 1e-6, "the better overlap is matched");
    }

    /** A 512 × 512 detector with rows {@code [x1, y1, x2, y2, score, class]}, threshold 0.3, no NMS. */
    static ModelConfig detector(List<String> labels) {
        try {
            return ModelConfig.JSON.readValue(
                    "{\"name\": \"d\", \"version\": 1, \"task\": \"detection\", \"inputs\": [{\"name\": \"image\","
                            + " \"datatype\": \"FP32\", \"shape\": [-1, 512, 512, 3], \"layout\": \"NHWC\","
                            + " \"resize\": {\"policy\": \"letterbox\", \"width\": 512, \"height\": 512}}],"
                            + " \"outputs\": [{\"name\": \"detections\", \"datatype\": \"FP32\", \"shape\": [-1, 100, 6],"
                            + " \"role\": \"detections\"}], \"detection\": {\"min_score\": 0.3, \"nms_iou\": 1.0,"
                            + " \"max_detections\": 20}, \"labels\": "
                            + ModelConfig.JSON.writeValueAsString(labels) + "}",
                    ModelConfig.class);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static float[] box(float x1, float y1, float x2, float y2, float score, int label) {
        return new float[] {x1, y1, x2, y2, score, label};
    }

    /** A detector's response for one image holding these rows. */
    static ModelInferResponse detections(float[]... rows) {
        ByteBuffer raw = ByteBuffer.allocate(rows.length * 6 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] row : rows) {
            for (float v : row) {
                raw.putFloat(v);
            }
        }
        return ModelInferResponse.newBuilder()
                .addOutputs(ModelInferResponse.InferOutputTensor.newBuilder()
                        .setName("detections")
                        .setDatatype("FP32")
                        .addShape(1)
                        .addShape(rows.length)
                        .addShape(6))
                .addRawOutputContents(ByteString.copyFrom(raw.array()))
                .build();
    }
}
