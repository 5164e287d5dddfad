package io.streamvision.rollout;

import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.runtime.Classifications;
import io.streamvision.runtime.Detections;
import io.streamvision.runtime.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The serving version and the candidate compared on the same inputs: for a classifier, per row,
 * whether their most probable labels agree, how many of their top-5 labels they share, and the
 * absolute difference of their probabilities label by label (labels are matched by name when both
 * versions have labels, so a candidate whose label list moved is caught); for a detector, per image,
 * how many of the objects the two versions found are the same object (same label name, boxes
 * overlapping by at least {@link #MATCH_IOU}), as an F1 score, and how closely the matched boxes
 * overlap; for every model, the compute time of each side on the same batches and the requests
 * each failed. Thread-safe.
 */
public final class VersionComparison {

    /** Compute times kept for the p99 of each side: the latest this many batches. */
    static final int LATENCY_WINDOW = 4096;

    /** Two versions' objects are the same object when their labels match and their boxes overlap this much. */
    public static final double MATCH_IOU = 0.5;

    private long pairs;
    private long classified;
    private long top1Agree;
    private double top5Overlap;
    private double diffSum;
    private long diffCount;
    private double diffMax;
    private long servingRequests;
    private long servingErrors;
    private long candidateRequests;
    private long candidateErrors;
    private long skipped;
    private long detectedImages;
    private double detectionAgreement;
    private double matchedIouSum;
    private long matchedObjects;
    private final long[] servingNanos = new long[LATENCY_WINDOW];
    private final long[] candidateNanos = new long[LATENCY_WINDOW];
    private long latencies;

    /**
     * Figures so far. Agreement figures are NaN before the first classified (or, for a detector,
     * detected) pair; {@code detectionAgreement} is the mean over images of 2 × matched objects /
     * (objects of one version + objects of the other), 1 for an image where neither found any;
     * {@code matchedIou} the mean overlap of the matched objects' boxes.
     */
    public record Snapshot(
            long pairs,
            long classifiedRows,
            double top1Agreement,
            double top5Overlap,
            double meanAbsDiff,
            double maxAbsDiff,
            long servingRequests,
            long servingErrors,
            long candidateRequests,
            long candidateErrors,
            double candidateErrorRate,
            double servingP99Ms,
            double candidateP99Ms,
            double p99Ratio,
            long shadowSkipped,
            long detectedImages,
            double detectionAgreement,
            double matchedIou) {

        /** True when the pairs compared were a detector's images, not a classifier's rows. */
        private boolean detector() {
            return classifiedRows == 0 && detectedImages > 0;
        }

        /**
         * The agreement a gate reads: top-1 agreement for a classifier, detection agreement for a
         * detector; NaN before the first pair.
         */
        public double agreement() {
            return detector() ? detectionAgreement : top1Agreement;
        }

        /** Rows (classifier) or images (detector) the agreement is computed over. */
        public long agreementRows() {
            return detector() ? detectedImages : classifiedRows;
        }

        /** What the agreement is, in words: "top-1 agreement" or "detection agreement". */
        public String agreementName() {
            return detector() ? "detection agreement" : "top-1 agreement";
        }

        /** What {@link #agreementRows()} counts: "rows" or "images". */
        public String agreementUnit() {
            return detector() ? "images" : "rows";
        }
    }

    /** Requests one side ran (its share of the traffic, or as the shadow), and how many failed. */
    public synchronized void ran(boolean candidate, int requests, int errors) {
        if (candidate) {
            candidateRequests += requests;
            candidateErrors += errors;
        } else {
            servingRequests += requests;
            servingErrors += errors;
        }
    }

    /** A batch the shadow could not take (its queue was full): not paired. */
    public synchronized void skipped(int requests) {
        skipped += requests;
    }

    /** The compute time of one batch on each side (the same inputs). */
    public synchronized void timed(long servingBatchNanos, long candidateBatchNanos) {
        int i = (int) (latencies++ % LATENCY_WINDOW);
        servingNanos[i] = servingBatchNanos;
        candidateNanos[i] = candidateBatchNanos;
    }

    /**
     * One request answered by both sides (each side's run is counted by {@link #ran}); a null
     * response (that side failed) makes no pair.
     *
     * @param request the request both answered (a detector's boxes are read in its image's pixels)
     */
    public void pair(
            ModelInferRequest request,
            ModelConfig servingConfig,
            ModelInferResponse serving,
            ModelConfig candidateConfig,
            ModelInferResponse candidate) {
        if (serving == null || candidate == null) {
            return;
        }
        if (isDetector(servingConfig) && isDetector(candidateConfig)) {
            List<Detection> a = detections(request, servingConfig, serving);
            List<Detection> b = detections(request, candidateConfig, candidate);
            synchronized (this) {
                pairs++;
                if (a != null && b != null) {
                    compareObjects(a, b);
                }
            }
            return;
        }
        float[][] a = probabilities(servingConfig, serving);
        float[][] b = probabilities(candidateConfig, candidate);
        synchronized (this) {
            pairs++;
            if (a == null || b == null || a.length != b.length) {
                return;
            }
            for (int row = 0; row < a.length; row++) {
                compareRow(a[row], servingConfig.labels(), b[row], candidateConfig.labels());
            }
        }
    }

    private void compareRow(float[] p, List<String> pLabels, float[] q, List<String> qLabels) {
        String[] pNames = names(p.length, pLabels);
        String[] qNames = names(q.length, qLabels);
        List<String> pTop = top(p, pNames);
        List<String> qTop = top(q, qNames);
        classified++;
        if (pTop.get(0).equals(qTop.get(0))) {
            top1Agree++;
        }
        Set<String> shared = new HashSet<>(pTop);
        shared.retainAll(qTop);
        top5Overlap += shared.size() / (double) Math.min(5, Math.max(pTop.size(), 1));
        Map<String, Float> other = new HashMap<>();
        for (int i = 0; i < q.length; i++) {
            other.put(qNames[i], q[i]);
        }
        for (int i = 0; i < p.length; i++) {
            double d = Math.abs(p[i] - other.getOrDefault(pNames[i], 0f));
            diffSum += d;
            diffCount++;
            diffMax = Math.max(diffMax, d);
        }
    }

    /**
     * Matches one image's objects of the two versions: among the pairs with the same label name and
     * boxes overlapping by at least {@link #MATCH_IOU}, the most overlapping first, each object
     * matched once.
     */
    private void compareObjects(List<Detection> a, List<Detection> b) {
        detectedImages++;
        if (a.isEmpty() && b.isEmpty()) {
            detectionAgreement += 1;
            return;
        }
        List<double[]> candidates = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            for (int j = 0; j < b.size(); j++) {
                if (!a.get(i).getLabel().equals(b.get(j).getLabel())) {
                    continue;
                }
                double iou = Detections.iou(a.get(i).getBox(), b.get(j).getBox());
                if (iou >= MATCH_IOU) {
                    candidates.add(new double[] {iou, i, j});
                }
            }
        }
        // Stable: equal overlaps keep the serving version's order.
        candidates.sort((x, y) -> Double.compare(y[0], x[0]));
        boolean[] usedA = new boolean[a.size()];
        boolean[] usedB = new boolean[b.size()];
        int matched = 0;
        for (double[] c : candidates) {
            int i = (int) c[1];
            int j = (int) c[2];
            if (usedA[i] || usedB[j]) {
                continue;
            }
            usedA[i] = true;
            usedB[j] = true;
            matched++;
            matchedIouSum += c[0];
        }
        matchedObjects += matched;
        detectionAgreement += 2.0 * matched / (a.size() + b.size());
    }

    private static boolean isDetector(ModelConfig config) {
        return config != null
                && config.output("detections") != null
                && config.output("logits") == null
                && config.output("probabilities") == null;
    }

    /** A detector's objects for the request's image, as the service answers them; null if unreadable. */
    private static List<Detection> detections(
            ModelInferRequest request, ModelConfig config, ModelInferResponse response) {
        try {
            Classification c = Classifications.fromResponse(config, request, response, 0);
            return c == null ? null : c.getDetectionsList();
        } catch (RuntimeException unreadable) {
            return null;
        }
    }

    private static String[] names(int n, List<String> labels) {
        String[] names = new String[n];
        for (int i = 0; i < n; i++) {
            names[i] = labels != null && labels.size() == n ? labels.get(i) : "#" + i;
        }
        return names;
    }

    private static List<String> top(float[] p, String[] names) {
        return Classifications.topK(p, Arrays.asList(names), 5).stream()
                .map(io.streamvision.proto.vision.v1.Label::getLabel)
                .toList();
    }

    /**
     * A classifier's probabilities, one row per input row (softmax of its {@code logits} output, or
     * its {@code probabilities} output as it is); null for other models.
     */
    static float[][] probabilities(ModelConfig config, ModelInferResponse response) {
        if (config == null) {
            return null;
        }
        ModelConfig.TensorSpec logits = config.output("logits");
        ModelConfig.TensorSpec spec = logits != null ? logits : config.output("probabilities");
        if (spec == null) {
            return null;
        }
        for (int i = 0; i < response.getOutputsCount() && i < response.getRawOutputContentsCount(); i++) {
            var output = response.getOutputs(i);
            if (!output.getName().equals(spec.name()) || output.getShapeCount() == 0) {
                continue;
            }
            int width = (int) output.getShape(output.getShapeCount() - 1);
            float[] all = Tensors.floats(response.getRawOutputContents(i));
            if (width <= 0 || all.length % width != 0) {
                return null;
            }
            float[][] rows = new float[all.length / width][];
            for (int r = 0; r < rows.length; r++) {
                float[] row = Arrays.copyOfRange(all, r * width, (r + 1) * width);
                rows[r] = logits != null ? Classifications.softmax(row) : row;
            }
            return rows;
        }
        return null;
    }

    public synchronized Snapshot snapshot() {
        int n = (int) Math.min(latencies, LATENCY_WINDOW);
        double servingP99 = p99(servingNanos, n);
        double candidateP99 = p99(candidateNanos, n);
        return new Snapshot(
                pairs,
                classified,
                classified == 0 ? Double.NaN : top1Agree / (double) classified,
                classified == 0 ? Double.NaN : top5Overlap / classified,
                diffCount == 0 ? Double.NaN : diffSum / diffCount,
                diffCount == 0 ? Double.NaN : diffMax,
                servingRequests,
                servingErrors,
                candidateRequests,
                candidateErrors,
                candidateRequests == 0 ? 0 : candidateErrors / (double) candidateRequests,
                servingP99,
                candidateP99,
                n == 0 || servingP99 <= 0 ? Double.NaN : candidateP99 / servingP99,
                skipped,
                detectedImages,
                detectedImages == 0 ? Double.NaN : detectionAgreement / detectedImages,
                matchedObjects == 0 ? Double.NaN : matchedIouSum / matchedObjects);
    }

    private static double p99(long[] window, int n) {
        if (n == 0) {
            return Double.NaN;
        }
        long[] sorted = Arrays.copyOf(window, n);
        Arrays.sort(sorted);
        return sorted[(int) Math.min(n - 1, Math.ceil(n * 0.99) - 1)] / 1e6;
    }
}
