package io.streamvision.model;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.streamvision.imaging.ColourManagement;
import java.util.List;

/**
 * One model version's {@code config.json} from the model repository (format documented in {@code
 * models/README.md}), read with {@link #JSON}. Immutable.
 *
 * @param name model name, equal to its folder name
 * @param version version number, equal to its folder name
 * @param platform backend, {@code onnxruntime_onnx}
 * @param file ONNX file name inside the version folder
 * @param task {@code classification}, {@code detection}, {@code caption-encoder} or {@code
 *     caption-decoder}
 * @param inputs input tensors in model order
 * @param outputs output tensors in model order, each with a role
 * @param labels class labels for classification and presence outputs
 * @param batching dynamic batching defaults
 * @param execution execution provider wishes
 * @param sha256 checksum of the ONNX file
 * @param vocab for decoders: vocabulary file name
 * @param encoder for decoders: name of the encoder model that makes their features
 * @param detection for detection models: how their {@code detections} output is read
 * @param outOfDomain how far an input is from what the model was trained on, and from where on
 *     its answer is out of domain (null: no score)
 */
public record ModelConfig(
        String name,
        int version,
        String platform,
        String file,
        String task,
        List<TensorSpec> inputs,
        List<TensorSpec> outputs,
        List<String> labels,
        Batching batching,
        Execution execution,
        String sha256,
        String vocab,
        String encoder,
        Detection detection,
        OutOfDomain outOfDomain) {

    /** Reads {@code config.json} and its parts: snake_case keys, unknown keys ignored. */
    public static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /** Tensor description; image fields are set on image inputs only. */
    public record TensorSpec(
            String name,
            String datatype,
            long[] shape,
            String layout,
            String colour,
            Resize resize,
            Double scale,
            float[] mean,
            float[] std,
            Boolean acceptsUint8,
            String role,
            String colourManagement) {

        /** True when this input is an image (it has a resize policy). */
        public boolean isImage() {
            return resize != null;
        }

        /**
         * What an image's embedded colour profile does to this input ({@code colour_management}).
         */
        public ColourManagement colours() {
            return ColourManagement.parse(colourManagement);
        }

        /** Channels of an image input: 1 for GRAY, 3 otherwise. */
        public int channels() {
            return "GRAY".equalsIgnoreCase(colour) ? 1 : 3;
        }

        /**
         * Refuses normalisation parameters that cannot be applied: a {@code mean} or {@code std}
         * that is empty or has neither one value nor one per channel, a {@code std} or {@code
         * scale} that is not a positive finite number.
         */
        public void checkNormalisation() {
            if (scale != null && !(scale > 0 && Double.isFinite(scale))) {
                throw new IllegalArgumentException("scale must be a positive number, not " + scale);
            }
            checkPerChannel("mean", mean, false);
            checkPerChannel("std", std, true);
        }

        private void checkPerChannel(String key, float[] values, boolean positive) {
            if (values == null) {
                return;
            }
            if (values.length != 1 && values.length != channels()) {
                throw new IllegalArgumentException(
                        key + " has " + values.length + " values; give one, or one per channel (" + channels() + ")");
            }
            for (float v : values) {
                if (!Float.isFinite(v) || (positive && v <= 0)) {
                    throw new IllegalArgumentException(
                            key + " must hold " + (positive ? "positive " : "") + "finite numbers, not " + v);
                }
            }
        }

        /**
         * The normalised value of every pixel value 0-255, per channel: {@code (pixel / scale -
         * mean[c]) / std[c]}, each step rounded to single precision as torchvision's {@code
         * ToTensor} and {@code Normalize} round it, so the values are bit-identical to theirs. Both
         * ways a tensor is made use it: FP32 from the preprocessing side and UINT8 normalised by the
         * serving side, so sending UINT8 changes no bit of what the model sees.
         */
        public float[][] normalisation(int channels) {
            checkNormalisation();
            float divisor = scale == null ? 255f : scale.floatValue();
            float[][] table = new float[channels][256];
            for (int ch = 0; ch < channels; ch++) {
                float m = mean == null ? 0f : mean[Math.min(ch, mean.length - 1)];
                float s = std == null ? 1f : std[Math.min(ch, std.length - 1)];
                for (int v = 0; v < 256; v++) {
                    float x = v / divisor;
                    table[ch][v] = (x - m) / s;
                }
            }
            return table;
        }
    }

    /** How an image is brought to the input size. */
    public record Resize(String policy, int width, int height, Integer shorterSide, Integer padValue) {}

    /**
     * How a detection model's output with role {@code detections} is read: rows of {@code [x1, y1,
     * x2, y2, score, class]} in the model input's pixels ({@code format} {@code xyxy_score_class},
     * the only one), of which those scoring at least {@code minScore} are kept, overlapping boxes of
     * one class with an IoU above {@code nmsIou} suppressed (greedy, highest score first), and at
     * most {@code maxDetections} returned.
     */
    public record Detection(String format, Float minScore, Float nmsIou, Integer maxDetections) {

        /** Settings used when a detection model's config has no {@code detection} block. */
        public static final Detection DEFAULT = new Detection("xyxy_score_class", 0.3f, 0.5f, 20);

        /** This block with defaults for the keys it leaves out. */
        public Detection orDefaults() {
            return new Detection(
                    format == null ? DEFAULT.format : format,
                    minScore == null ? DEFAULT.minScore : minScore,
                    nmsIou == null ? DEFAULT.nmsIou : nmsIou,
                    maxDetections == null ? DEFAULT.maxDetections : maxDetections);
        }
    }

    /**
     * An out-of-domain score for every answer: {@code method} {@code max_softmax} (1 - the largest
     * softmax probability of {@code output}, Hendrycks and Gimpel 2017), {@code energy} (minus the
     * log-sum-exp of the logits in {@code output}, Liu et al. 2020) or {@code mahalanobis} (the
     * smallest Mahalanobis distance of the {@code output} vector to a class mean under one shared
     * covariance, Lee et al. 2018, with the class means and the precision matrix in the {@code
     * statistics} file: little-endian float32, {@code classes} x {@code dimensions} means, then
     * {@code dimensions} x {@code dimensions} precision, row-major). Higher is further from the
     * training data; above {@code threshold} the answer is out of domain. {@code
     * truePositiveRate} is the share of in-domain inputs the threshold keeps (the model kit
     * calibrates it). {@code deadLetter}: out-of-domain inputs become dead letters instead of
     * answers. {@code mahalanobis_ensemble} (Lee et al.'s feature ensemble over two layers): the
     * larger of the Mahalanobis distance of {@code output} divided by {@code scale} and that of the
     * model's input ({@code inputLayer}) divided by its scale.
     */
    public record OutOfDomain(
            String method,
            String output,
            String statistics,
            String statisticsSha256,
            Integer classes,
            Integer dimensions,
            Double scale,
            InputLayer inputLayer,
            double threshold,
            Double truePositiveRate,
            Boolean deadLetter) {}

    /**
     * The second layer of a {@code mahalanobis_ensemble} score: the model's {@code input} tensor (as
     * the model sees it, after normalisation) averaged over {@code pool} x {@code pool} blocks of
     * each channel (1 or absent: every value), flattened channel by channel, with its own {@code
     * statistics} and {@code scale}.
     */
    public record InputLayer(
            String input,
            Integer pool,
            String statistics,
            String statisticsSha256,
            Integer classes,
            Integer dimensions,
            Double scale) {}

    /** Dynamic batching defaults. */
    public record Batching(
            int maxBatchSize,
            long maxQueueDelayUs,
            int maxQueueSize,
            Integer priorityLevels,
            Integer defaultPriorityLevel,
            QueuePolicy defaultQueuePolicy) {}

    /** Triton's queue policy: what happens to a request that waits longer than its timeout. */
    public record QueuePolicy(String timeoutAction, long defaultTimeoutUs, Boolean allowTimeoutOverride) {}

    /**
     * Execution wishes of one model: the provider ({@code cpu}, {@code cuda} or {@code auto}) and,
     * overriding the service's {@code execution.*} settings for this model only, ONNX Runtime's
     * intra-op and inter-op thread counts, whether idle threads spin, and how many batches of it run
     * at once (its instances, as Triton's {@code instance_group} count) (null: the service's).
     */
    public record Execution(
            String provider,
            boolean requireCuda,
            Integer intraOpThreads,
            Integer interOpThreads,
            Boolean allowSpinning,
            Integer instances) {

        public Execution(String provider, boolean requireCuda) {
            this(provider, requireCuda, null, null, null, null);
        }
    }

    /** The first image input, or null when the model takes no image. */
    public TensorSpec imageInput() {
        return inputs == null
                ? null
                : inputs.stream().filter(TensorSpec::isImage).findFirst().orElse(null);
    }

    /** The first output with the given role, or null. */
    public TensorSpec output(String role) {
        return outputs == null
                ? null
                : outputs.stream()
                        .filter(o -> role.equals(o.role()))
                        .findFirst()
                        .orElse(null);
    }
}
