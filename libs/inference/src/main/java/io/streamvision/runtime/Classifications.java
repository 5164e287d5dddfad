package io.streamvision.runtime;

import io.streamvision.imaging.Placement;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.RequestModels;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.proto.vision.v1.Label;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Turns a classifier's output row into top-k labels with probabilities, and a detector's rows into
 * objects (through {@link Detections}). Stateless, thread-safe.
 */
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
     * What a response says about its image, for the first row: the top-k labels of a classifier
     * (its output with role {@code logits} or {@code probabilities}), or the objects of a detector
     * (its output with role {@code detections}, read by {@link Detections} with the image placement
     * the request carries), with the models the request went to; null when the model has neither
     * output.
     *
     * @param request the request that was answered (its parameters carry the image placement and
     *     the request's models)
     */
    public static Classification fromResponse(
            ModelConfig config, ModelInferRequest request, ModelInferResponse response, int k) {
        ModelConfig.TensorSpec logits = config.output("logits");
        ModelConfig.TensorSpec probs = config.output("probabilities");
        ModelConfig.TensorSpec detections = config.output("detections");
        ModelConfig.TensorSpec spec = logits != null ? logits : probs != null ? probs : detections;
        if (spec == null) {
            return null;
        }
        for (int i = 0; i < response.getOutputsCount(); i++) {
            var output = response.getOutputs(i);
            if (!output.getName().equals(spec.name())) {
                continue;
            }
            Classification.Builder out = Classification.newBuilder()
                    .setRequestId(response.getId())
                    .setModelName(response.getModelName())
                    .setModelVersion(response.getModelVersion())
                    .addAllRequestModels(RequestModels.of(request));
            double[] domain = DomainScore.read(response.getParametersMap());
            if (domain != null) {
                out.setDomainScore((float) domain[0])
                        .setDomainThreshold((float) domain[1])
                        .setOutOfDomain(domain[2] > 0);
            }
            if (spec == detections) {
                long rows = output.getShapeCount() >= 2 ? output.getShape(output.getShapeCount() - 2) : 0;
                float[] values = Tensors.floats(response.getRawOutputContents(i), (int) (rows * 6));
                Placement placement = Placement.of(request.getParametersMap());
                ModelConfig.TensorSpec input = config.imageInput();
                int inputWidth = input == null ? 0 : input.resize().width();
                int inputHeight = input == null ? 0 : input.resize().height();
                List<Detection> found = Detections.decode(
                        values, config.detection(), config.labels(), placement, inputWidth, inputHeight);
                out.setDetector(true).addAllDetections(found).addAllLabels(Detections.classes(found, k));
                if (placement != null) {
                    out.setImageWidth(placement.sourceWidth()).setImageHeight(placement.sourceHeight());
                } else {
                    out.setImageWidth(inputWidth).setImageHeight(inputHeight);
                }
                return out.build();
            }
            long width = output.getShape(output.getShapeCount() - 1);
            float[] row = Tensors.floats(response.getRawOutputContents(i), (int) width);
            float[] p = spec == logits ? softmax(row) : row;
            Placement placement = Placement.of(request.getParametersMap());
            if (placement != null) {
                out.setImageWidth(placement.sourceWidth()).setImageHeight(placement.sourceHeight());
            }
            return out.addAllLabels(topK(p, config.labels(), k)).build();
        }
        return null;
    }
}
