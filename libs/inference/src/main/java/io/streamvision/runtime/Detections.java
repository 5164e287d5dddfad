package io.streamvision.runtime;

import io.streamvision.imaging.Placement;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.vision.v1.Box;
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.proto.vision.v1.Label;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a detection model's output rows {@code [x1, y1, x2, y2, score, class]} (model-input
 * pixels) into objects in the pixels of the image as sent: rows under the score threshold dropped,
 * boxes mapped back through the image's {@link Placement} (letterbox padding, stretch or crop) and
 * clipped to the image, overlapping boxes of one class suppressed (greedy non-maximum suppression,
 * highest score first, ties in row order), and at most {@code max_detections} kept. The model kit
 * computes its reference detections by the same rules. Stateless, thread-safe.
 */
public final class Detections {

    private static final int ROW = 6;

    private Detections() {}

    /**
     * The objects in one image's rows.
     *
     * @param rows the image's rows, {@code 6} floats each
     * @param placement where the image lies in the model input; null: boxes stay in model-input
     *     pixels, clipped to the input size
     * @param inputWidth model input width, for clipping without a placement
     * @param inputHeight model input height, for clipping without a placement
     */
    public static List<Detection> decode(
            float[] rows,
            ModelConfig.Detection settings,
            List<String> labels,
            Placement placement,
            int inputWidth,
            int inputHeight) {
        ModelConfig.Detection s = settings == null ? ModelConfig.Detection.DEFAULT : settings.orDefaults();
        int width = placement == null ? inputWidth : placement.sourceWidth();
        int height = placement == null ? inputHeight : placement.sourceHeight();
        List<float[]> kept = new ArrayList<>();
        for (int r = 0; r + ROW <= rows.length; r += ROW) {
            float score = rows[r + 4];
            if (!(score >= s.minScore())) {
                continue;
            }
            float x1 = rows[r];
            float y1 = rows[r + 1];
            float x2 = rows[r + 2];
            float y2 = rows[r + 3];
            if (placement != null) {
                x1 = placement.sourceX(x1);
                x2 = placement.sourceX(x2);
                y1 = placement.sourceY(y1);
                y2 = placement.sourceY(y2);
            }
            kept.add(new float[] {
                clamp(x1, width), clamp(y1, height), clamp(x2, width), clamp(y2, height), score, rows[r + 5]
            });
        }
        // Stable: equal scores keep row order.
        kept.sort(Comparator.comparingDouble(d -> -d[4]));
        List<float[]> chosen = new ArrayList<>();
        for (float[] candidate : kept) {
            if (chosen.size() >= s.maxDetections()) {
                break;
            }
            boolean suppressed = false;
            for (float[] c : chosen) {
                if (c[5] == candidate[5] && iou(c, candidate) > s.nmsIou()) {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed) {
                chosen.add(candidate);
            }
        }
        List<Detection> out = new ArrayList<>(chosen.size());
        for (float[] d : chosen) {
            int index = Math.round(d[5]);
            out.add(Detection.newBuilder()
                    .setLabel(labels != null && index >= 0 && index < labels.size() ? labels.get(index) : "" + index)
                    .setIndex(index)
                    .setScore(d[4])
                    .setBox(Box.newBuilder()
                            .setXMin(d[0])
                            .setYMin(d[1])
                            .setXMax(d[2])
                            .setYMax(d[3]))
                    .build());
        }
        return out;
    }

    /** Each detected class once, with its highest score, highest first; at most {@code k}. */
    public static List<Label> classes(List<Detection> detections, int k) {
        Map<Integer, Detection> best = new LinkedHashMap<>();
        for (Detection d : detections) {
            best.merge(d.getIndex(), d, (a, b) -> a.getScore() >= b.getScore() ? a : b);
        }
        return best.values().stream()
                .sorted(Comparator.comparingDouble(d -> -d.getScore()))
                .limit(Math.max(0, k))
                .map(d -> Label.newBuilder()
                        .setLabel(d.getLabel())
                        .setIndex(d.getIndex())
                        .setProbability(d.getScore())
                        .build())
                .toList();
    }

    /** Intersection over union of two boxes. */
    public static double iou(Box a, Box b) {
        return iou(
                new float[] {a.getXMin(), a.getYMin(), a.getXMax(), a.getYMax()},
                new float[] {b.getXMin(), b.getYMin(), b.getXMax(), b.getYMax()});
    }

    /** Intersection over union of two {@code [x1, y1, x2, y2, ...]} boxes. */
    static double iou(float[] a, float[] b) {
        double iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
        double ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
        if (iw <= 0 || ih <= 0) {
            return 0;
        }
        double inter = iw * ih;
        double union = area(a) + area(b) - inter;
        return union <= 0 ? 0 : inter / union;
    }

    private static double area(float[] box) {
        return Math.max(0, box[2] - box[0]) * (double) Math.max(0, box[3] - box[1]);
    }

    private static float clamp(float v, int max) {
        return Math.max(0f, Math.min(v, max));
    }
}
