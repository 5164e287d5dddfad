package io.streamvision.runtime;

import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.Label;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Turns a classifier's output row into top-k labels with probabilities. Stateless, thread-safe. */
public final class Classifications {

    private Classifications() {}

    /** Softmax of a row of logits, computed stably. */
    public static float[] softmax(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] e = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp(logits[i] - max);
            sum += e[i];
        }
        float[] p = new float[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (e[i] / sum);
        }
        return p;
    }

    /** The k most probable labels, most probable first (ties by lower index). */
    public static List<Label> topK(float[] probabilities, List<String> labels, int k) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < probabilities.length; i++) {
            order.add(i);
        }
        order.sort(Comparator.<Integer>comparingDouble(i -> -probabilities[i]).thenComparing(i -> i));
        List<Label> top = new ArrayList<>();
        for (int i = 0; i < Math.min(k, order.size()); i++) {
            int index = order.get(i);
            String name = labels != null && index < labels.size() ? labels.get(index) : Integer.toString(index);
            top.add(Label.newBuilder()
                    .setLabel(name)
                    .setIndex(index)
                    .setProbability(probabilities[index])
                    .build());
        }
        return top;
    }

    /**
     * The classification carried by a response of a classification model (its output with role
     * {@code logits} or {@code probabilities}), for the first row; null when it has none.
     */
    public static Classification fromResponse(ModelConfig config, ModelInferResponse response, int k) {
        ModelConfig.TensorSpec logits = config.output("logits");
        ModelConfig.TensorSpec probs = config.output("probabilities");
        ModelConfig.TensorSpec spec = logits != null ? logits : probs;
        if (spec == null) {
            return null;
        }
        for (int i = 0; i < response.getOutputsCount(); i++) {
            if (response.getOutputs(i).getName().equals(spec.name())) {
                long width =
                        response.getOutputs(i).getShape(response.getOutputs(i).getShapeCount() - 1);
                float[] row = Tensors.floats(response.getRawOutputContents(i), (int) width);
                float[] p = spec == logits ? softmax(row) : row;
                return Classification.newBuilder()
                        .setRequestId(response.getId())
                        .setModelName(response.getModelName())
                        .setModelVersion(response.getModelVersion())
                        .addAllLabels(topK(p, config.labels(), k))
                        .build();
            }
        }
        return null;
    }
}
