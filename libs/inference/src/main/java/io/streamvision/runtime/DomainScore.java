package io.streamvision.runtime;

import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * How far one answer's input is from what its model was trained on, from the model itself
 * ({@link ModelConfig.OutOfDomain}): the score of one output row (and, for the layer ensemble, the
 * same row of the input the model was fed), and whether it is above the model's calibrated
 * threshold. Made once per loaded model version (the Mahalanobis statistics are read then);
 * immutable and thread-safe.
 */
public final class DomainScore {

    /** Response parameter: the score of the answer's input (one row). */
    public static final String SCORE = "domain_score";

    /** Response parameter: the model's threshold. */
    public static final String THRESHOLD = "domain_threshold";

    /** Response parameter: true when the score is above the model's threshold. */
    public static final String OUT_OF_DOMAIN = "out_of_domain";

    private final ModelConfig.OutOfDomain settings;
    private final String method;
    /** The distance on {@link #output()} (mahalanobis, and the ensemble's first layer). */
    private final Mahalanobis outputLayer;
    /** The ensemble's second layer, on the model's input. */
    private final Mahalanobis inputLayer;
    /** How the input is averaged before the second layer: channels, height, width, layout, block. */
    private final Pooling pooling;

    private DomainScore(
            ModelConfig.OutOfDomain settings, Mahalanobis outputLayer, Mahalanobis inputLayer, Pooling pooling) {
        this.settings = settings;
        this.method = settings.method();
        this.outputLayer = outputLayer;
        this.inputLayer = inputLayer;
        this.pooling = pooling;
    }

    /**
     * The score of a model version, or null when its config has none.
     *
     * @throws IllegalArgumentException for an unknown method, an output or input the model does not
     *     have, or statistics that are missing, of the wrong size or of another checksum
     */
    public static DomainScore of(ModelConfig config, Path versionDir) {
        ModelConfig.OutOfDomain ood = config.outOfDomain();
        if (ood == null) {
            return null;
        }
        if (ood.output() == null
                || config.outputs() == null
                || config.outputs().stream().noneMatch(o -> o.name().equals(ood.output()))) {
            throw new IllegalArgumentException(
                    "out_of_domain.output '" + ood.output() + "' is not an output of the model");
        }
        long width = config.outputs().stream()
                .filter(o -> o.name().equals(ood.output()))
                .findFirst()
                .map(o -> o.shape() == null || o.shape().length == 0 ? -1L : o.shape()[o.shape().length - 1])
                .orElse(-1L);
        if (ood.method() != null
                && ood.method().startsWith("mahalanobis")
                && (ood.dimensions() == null || width != ood.dimensions())) {
            throw new IllegalArgumentException("out_of_domain.dimensions " + ood.dimensions() + " is not the width "
                    + width + " of output '" + ood.output() + "'");
        }
        switch (ood.method() == null ? "" : ood.method()) {
            case "max_softmax", "energy":
                return new DomainScore(ood, null, null, null);
            case "mahalanobis":
                return new DomainScore(ood, outputLayer(ood, versionDir, 1.0), null, null);
            case "mahalanobis_ensemble": {
                ModelConfig.InputLayer in = ood.inputLayer();
                Pooling pooling = Pooling.of(config, in);
                return new DomainScore(
                        ood,
                        outputLayer(ood, versionDir, ood.scale()),
                        Mahalanobis.read(
                                versionDir,
                                in.statistics(),
                                in.statisticsSha256(),
                                in.classes(),
                                in.dimensions(),
                                in.scale()),
                        pooling);
            }
            default:
                throw new IllegalArgumentException("out_of_domain.method must be max_softmax, energy, mahalanobis or"
                        + " mahalanobis_ensemble, not '" + ood.method() + "'");
        }
    }

    private static Mahalanobis outputLayer(ModelConfig.OutOfDomain ood, Path versionDir, Double scale) {
        return Mahalanobis.read(
                versionDir, ood.statistics(), ood.statisticsSha256(), ood.classes(), ood.dimensions(), scale);
    }

    /**
     * How the ensemble's input row is averaged before its distance: channels, height, width, layout
     * and block size of the named image input, which must have a fixed size that fits the layer.
     */
    private record Pooling(int channels, int height, int width, boolean nhwc, int block) {

        static Pooling of(ModelConfig config, ModelConfig.InputLayer in) {
            ModelConfig.TensorSpec spec = in == null || in.input() == null || config.inputs() == null
                    ? null
                    : config.inputs().stream()
                            .filter(i -> i.name().equals(in.input()))
                            .findFirst()
                            .orElse(null);
            if (spec == null || spec.shape() == null || spec.shape().length != 4) {
                throw new IllegalArgumentException("out_of_domain method mahalanobis_ensemble needs an input_layer"
                        + " naming an image input of the model (4 dimensions)");
            }
            boolean nhwc = "NHWC".equalsIgnoreCase(spec.layout());
            long[] d = spec.shape();
            int block = in.pool() == null ? 1 : in.pool();
            long c = nhwc ? d[3] : d[1];
            long h = nhwc ? d[1] : d[2];
            long w = nhwc ? d[2] : d[3];
            if (c <= 0
                    || h <= 0
                    || w <= 0
                    || block < 1
                    || in.dimensions() == null
                    || in.dimensions() != c * (h / block) * (w / block)) {
                throw new IllegalArgumentException("out_of_domain.input_layer.dimensions " + in.dimensions()
                        + " does not fit input '" + in.input() + "' (" + c + " x " + h + " x " + w + ", pool "
                        + block + "): the input needs a fixed size");
            }
            return new Pooling((int) c, (int) h, (int) w, nhwc, block);
        }
    }

    /** The output whose rows are scored. */
    public String output() {
        return settings.output();
    }

    /** The input whose rows the score also reads (the layer ensemble), or null. */
    public String input() {
        return inputLayer == null ? null : settings.inputLayer().input();
    }

    /** Above this the answer is out of domain. */
    public double threshold() {
        return settings.threshold();
    }

    /** True when a score is above the threshold. */
    public boolean outOfDomain(double score) {
        return score > settings.threshold();
    }

    /** The three response parameters of a score. */
    public void putInto(ModelInferResponse.Builder response, double score) {
        response.putParameters(
                SCORE, InferParameter.newBuilder().setDoubleParam(score).build());
        response.putParameters(
                OUT_OF_DOMAIN,
                InferParameter.newBuilder().setBoolParam(outOfDomain(score)).build());
        response.putParameters(
                THRESHOLD,
                InferParameter.newBuilder().setDoubleParam(threshold()).build());
    }

    /**
     * The score a response's parameters carry, as {@code [score, threshold, out of domain ? 1 :
     * 0]}, or null when they carry none.
     */
    public static double[] read(Map<String, InferParameter> parameters) {
        InferParameter score = parameters.get(SCORE);
        if (score == null) {
            return null;
        }
        InferParameter none = InferParameter.getDefaultInstance();
        return new double[] {
            score.getDoubleParam(),
            parameters.getOrDefault(THRESHOLD, none).getDoubleParam(),
            parameters.getOrDefault(OUT_OF_DOMAIN, none).getBoolParam() ? 1 : 0
        };
    }

    /**
     * The score of one row of {@link #output()} and, for the layer ensemble, the same row of the
     * model's {@link #input()} (null otherwise); higher is further from the training data.
     */
    public double score(float[] row, float[] inputRow) {
        return switch (method) {
            case "max_softmax" -> {
                float[] p = Classifications.softmax(row);
                double max = 0;
                for (float v : p) {
                    max = Math.max(max, v);
                }
                yield 1 - max;
            }
            case "energy" -> {
                double max = Double.NEGATIVE_INFINITY;
                for (float v : row) {
                    max = Math.max(max, v);
                }
                double sum = 0;
                for (float v : row) {
                    sum += Math.exp(v - max);
                }
                yield -(max + Math.log(sum));
            }
            case "mahalanobis_ensemble" -> Math.max(outputLayer.scaled(row), inputLayer.scaled(pool(inputRow)));
            default -> outputLayer.scaled(row);
        };
    }

    /** The input row averaged over blocks of each channel, channel by channel. */
    private float[] pool(float[] row) {
        int c = pooling.channels();
        int h = pooling.height();
        int w = pooling.width();
        boolean nhwc = pooling.nhwc();
        int k = pooling.block();
        if (row == null || row.length != c * h * w) {
            throw new IllegalArgumentException("out-of-domain score needs the " + c + "x" + h + "x" + w + " input, not "
                    + (row == null ? 0 : row.length) + " values");
        }
        if (k <= 1) {
            return row;
        }
        int ph = h / k;
        int pw = w / k;
        float[] out = new float[c * ph * pw];
        for (int ch = 0; ch < c; ch++) {
            for (int by = 0; by < ph; by++) {
                for (int bx = 0; bx < pw; bx++) {
                    double sum = 0;
                    for (int y = by * k; y < by * k + k; y++) {
                        for (int x = bx * k; x < bx * k + k; x++) {
                            sum += row[nhwc ? (y * w + x) * c + ch : (ch * h + y) * w + x];
                        }
                    }
                    out[(ch * ph + by) * pw + bx] = (float) (sum / (k * k));
                }
            }
        }
        return out;
    }

    /**
     * The smallest Mahalanobis distance of a vector to a class mean under one shared precision
     * matrix, divided by a scale. Holds P (row-major), P times each class mean and each mean's
     * P-norm, so one distance costs one matrix-vector product and a dot product per class.
     */
    private static final class Mahalanobis {
        private final double[] precision;
        private final double[][] precisionMeans;
        private final double[] meanNorms;
        private final int dimensions;
        private final double scale;

        private Mahalanobis(
                double[] precision, double[][] precisionMeans, double[] meanNorms, int dimensions, double scale) {
            this.precision = precision;
            this.precisionMeans = precisionMeans;
            this.meanNorms = meanNorms;
            this.dimensions = dimensions;
            this.scale = scale;
        }

        /**
         * Reads {@code statistics}: little-endian float32, the class means ({@code classes} x {@code
         * dimensions}) then the precision ({@code dimensions} x {@code dimensions}), row-major.
         */
        static Mahalanobis read(
                Path versionDir,
                String statistics,
                String sha256,
                Integer classCount,
                Integer dimensionCount,
                Double scale) {
            int classes = classCount == null ? 1 : classCount;
            int d = dimensionCount == null ? 0 : dimensionCount;
            if (statistics == null || d <= 0 || classes <= 0 || scale == null || !(scale > 0)) {
                throw new IllegalArgumentException("out_of_domain Mahalanobis layers need statistics, classes,"
                        + " dimensions and (in an ensemble) a positive scale");
            }
            Path file = versionDir.resolve(statistics);
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
                if (sha256 != null && !sha256.equalsIgnoreCase(ModelRepository.sha256(file))) {
                    throw new IllegalArgumentException(
                            "out_of_domain statistics " + file + " do not match their sha256");
                }
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "out_of_domain statistics " + file + " cannot be read: " + e.getMessage(), e);
            }
            long expected = 4L * ((long) classes * d + (long) d * d);
            if (bytes.length != expected) {
                throw new IllegalArgumentException("out_of_domain statistics " + file + " hold " + bytes.length
                        + " bytes, not the " + expected + " of " + classes + " means and a " + d + "x" + d
                        + " precision");
            }
            ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            double[][] means = new double[classes][d];
            for (double[] mean : means) {
                for (int j = 0; j < d; j++) {
                    mean[j] = in.getFloat();
                }
            }
            double[] precision = new double[d * d];
            for (int i = 0; i < d * d; i++) {
                precision[i] = in.getFloat();
            }
            double[][] precisionMeans = new double[classes][];
            double[] meanNorms = new double[classes];
            for (int c = 0; c < classes; c++) {
                precisionMeans[c] = times(precision, means[c], d);
                meanNorms[c] = dot(means[c], precisionMeans[c]);
            }
            return new Mahalanobis(precision, precisionMeans, meanNorms, d, scale);
        }

        double scaled(float[] row) {
            if (row == null || row.length != dimensions) {
                throw new IllegalArgumentException(
                        "out-of-domain score needs " + dimensions + " values, not " + (row == null ? 0 : row.length));
            }
            double[] f = new double[dimensions];
            for (int i = 0; i < dimensions; i++) {
                f[i] = row[i];
            }
            double quadratic = quadratic(f);
            double best = Double.POSITIVE_INFINITY;
            for (int c = 0; c < precisionMeans.length; c++) {
                best = Math.min(best, quadratic - 2 * dot(f, precisionMeans[c]) + meanNorms[c]);
            }
            return best / scale;
        }

        /** f^T P f from the upper triangle of the symmetric P, with four running sums. */
        private double quadratic(double[] f) {
            int d = dimensions;
            double total = 0;
            for (int i = 0; i < d; i++) {
                int at = i * d;
                double s0 = 0;
                double s1 = 0;
                double s2 = 0;
                double s3 = 0;
                int j = i + 1;
                for (; j + 3 < d; j += 4) {
                    s0 += precision[at + j] * f[j];
                    s1 += precision[at + j + 1] * f[j + 1];
                    s2 += precision[at + j + 2] * f[j + 2];
                    s3 += precision[at + j + 3] * f[j + 3];
                }
                for (; j < d; j++) {
                    s0 += precision[at + j] * f[j];
                }
                total += f[i] * (precision[at + i] * f[i] + 2 * ((s0 + s1) + (s2 + s3)));
            }
            return total;
        }

        private static double[] times(double[] matrix, double[] v, int d) {
            double[] out = new double[d];
            for (int i = 0; i < d; i++) {
                double s = 0;
                int at = i * d;
                for (int j = 0; j < d; j++) {
                    s += matrix[at + j] * v[j];
                }
                out[i] = s;
            }
            return out;
        }

        private static double dot(double[] a, double[] b) {
            double s = 0;
            for (int i = 0; i < a.length; i++) {
                s += a[i] * b[i];
            }
            return s;
        }
    }
}
