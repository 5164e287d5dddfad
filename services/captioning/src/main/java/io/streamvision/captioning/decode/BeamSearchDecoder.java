package io.streamvision.captioning.decode;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelConfig.TensorSpec;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.Tensors;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes captions with a one-step RNN decoder graph (previous tokens, features and state in;
 * next-token logits and state out), many images at once: every step runs the decoder once over all
 * live hypotheses of all images in the batch. Beam width 1 is greedy search.
 *
 * <p>The decoder's inputs are found from its config: the INT64 input takes the tokens, each input
 * {@code X} with an output {@code X_out} is recurrent state (starting at zeros), and the remaining
 * FP32 input takes the features. The {@code logits} role output scores the next token.
 *
 * <p>Thread-safe: each call keeps its own buffers.
 */
public final class BeamSearchDecoder {

    /** One hypothesis: token ids (no start or end token) and log-probability. */
    public record Hypothesis(List<Long> tokens, double logProbability) {}

    /** Hypotheses for one image, best first. */
    public record Result(List<Hypothesis> ranked) {
        public Hypothesis best() {
            return ranked.get(0);
        }
    }

    private final OrtEnvironment env;
    private final LoadedModel decoder;
    private final Vocabulary vocab;
    private final String tokensInput;
    private final String featuresInput;
    private final int featureSize;
    private final List<String> stateInputs = new ArrayList<>();
    private final List<Integer> stateSizes = new ArrayList<>();
    private final String logitsOutput;

    public BeamSearchDecoder(OrtEnvironment env, LoadedModel decoder, Vocabulary vocab) {
        this.env = env;
        this.decoder = decoder;
        this.vocab = vocab;
        ModelConfig config = decoder.config();
        String tokens = null;
        String features = null;
        int size = 0;
        for (TensorSpec input : config.inputs()) {
            boolean state = config.outputs().stream().anyMatch(o -> o.name().equals(input.name() + "_out"));
            if ("INT64".equals(input.datatype())) {
                tokens = input.name();
            } else if (state) {
                stateInputs.add(input.name());
                stateSizes.add((int) input.shape()[input.shape().length - 1]);
            } else {
                features = input.name();
                size = (int) input.shape()[input.shape().length - 1];
            }
        }
        if (tokens == null || features == null || config.output("logits") == null) {
            throw new IllegalArgumentException("Decoder "
                    + config.name()
                    + " needs an INT64 tokens input, a features"
                    + " input and a logits output; it has inputs "
                    + config.inputs().stream().map(TensorSpec::name).toList());
        }
        this.tokensInput = tokens;
        this.featuresInput = features;
        this.featureSize = size;
        this.logitsOutput = config.output("logits").name();
    }

    /** Length of the feature vectors this decoder reads. */
    public int featureSize() {
        return featureSize;
    }

    /** A hypothesis still being extended: its tokens, score and row in the last decoder run. */
    private record Live(List<Long> tokens, double score, int image, int row) {}

    /**
     * Decodes a batch of images. Each step expands every live hypothesis of every image by every
     * token in one decoder run; per image the {@code beamWidth} best candidates are kept (ties:
     * earlier hypothesis, then lower token id); those ending in the end token are finished, the
     * rest stay live. An image is done when nothing is live, or when its best finished score is at
     * least its best live score (scores only fall). After {@code maxTokens} steps live hypotheses
     * are finished as they are.
     *
     * @param features one feature vector per image
     * @param beamWidth hypotheses kept per image (1 = greedy)
     * @param maxTokens longest caption, in tokens
     * @param alpha length penalty for the final ranking, logP / (length + 1)^alpha; 0 = none
     */
    public List<Result> decode(List<float[]> features, int beamWidth, int maxTokens, double alpha) throws OrtException {
        return decode(features, beamWidth, 0, maxTokens, alpha);
    }

    /**
     * Decodes a batch of images, never ending a caption before {@code minTokens} words (the end
     * token is masked until then).
     */
    public List<Result> decode(List<float[]> features, int beamWidth, int minTokens, int maxTokens, double alpha)
            throws OrtException {
        int n = features.size();
        int k = Math.max(1, beamWidth);
        for (int i = 0; i < n; i++) {
            if (features.get(i).length != featureSize) {
                throw new IllegalArgumentException("feature vector "
                        + i
                        + " has "
                        + features.get(i).length
                        + " values; the decoder reads "
                        + featureSize);
            }
        }
        List<List<Hypothesis>> finished = new ArrayList<>();
        List<Live> live = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            finished.add(new ArrayList<>());
            live.add(new Live(List.of(), 0.0, i, i));
        }
        float[][] states = new float[stateInputs.size()][];
        for (int s = 0; s < states.length; s++) {
            states[s] = new float[n * stateSizes.get(s)];
        }
        for (int step = 0; step < maxTokens && !live.isEmpty(); step++) {
            int rows = live.size();
            long[] tokens = new long[rows];
            ByteBuffer featureBuffer = Tensors.direct(rows * featureSize * 4);
            FloatBuffer featureFloats = featureBuffer.asFloatBuffer();
            float[][] rowStates = new float[states.length][];
            for (int s = 0; s < states.length; s++) {
                rowStates[s] = new float[rows * stateSizes.get(s)];
            }
            for (int r = 0; r < rows; r++) {
                Live h = live.get(r);
                tokens[r] = h.tokens().isEmpty()
                        ? vocab.start()
                        : h.tokens().get(h.tokens().size() - 1);
                featureFloats.put(features.get(h.image()));
                for (int s = 0; s < states.length; s++) {
                    int size = stateSizes.get(s);
                    System.arraycopy(states[s], h.row() * size, rowStates[s], r * size, size);
                }
            }
            float[] logits = new float[rows * vocab.tokens().size()];
            float[][] nextStates = new float[states.length][];
            run(tokens, featureBuffer, rowStates, rows, logits, nextStates);
            int vocabSize = logits.length / rows;
            List<Live> nextLive = new ArrayList<>();
            int r = 0;
            while (r < rows) {
                int image = live.get(r).image();
                List<double[]> candidates = new ArrayList<>(); // {score, liveIndex, token}
                int first = r;
                for (; r < rows && live.get(r).image() == image; r++) {
                    double[] logp = logSoftmax(logits, r * vocabSize, vocabSize);
                    if (step < minTokens) {
                        logp[vocab.end()] = Double.NEGATIVE_INFINITY;
                    }
                    for (int v : topIndices(logp, k)) {
                        candidates.add(new double[] {live.get(r).score() + logp[v], r, v});
                    }
                }
                candidates.sort(Comparator.<double[]>comparingDouble(c -> -c[0])
                        .thenComparingDouble(c -> c[1])
                        .thenComparingDouble(c -> c[2]));
                List<Live> kept = new ArrayList<>();
                for (int c = 0; c < Math.min(k, candidates.size()); c++) {
                    double[] cand = candidates.get(c);
                    Live parent = live.get((int) cand[1]);
                    List<Long> extended = new ArrayList<>(parent.tokens());
                    extended.add((long) cand[2]);
                    if ((int) cand[2] == vocab.end()) {
                        finished.get(image)
                                .add(new Hypothesis(List.copyOf(extended.subList(0, extended.size() - 1)), cand[0]));
                    } else {
                        kept.add(new Live(extended, cand[0], image, (int) cand[1]));
                    }
                }
                double bestFinished = finished.get(image).stream()
                        .mapToDouble(Hypothesis::logProbability)
                        .max()
                        .orElse(Double.NEGATIVE_INFINITY);
                double bestLive = kept.stream().mapToDouble(Live::score).max().orElse(Double.NEGATIVE_INFINITY);
                if (!kept.isEmpty() && bestFinished < bestLive) {
                    nextLive.addAll(kept);
                }
                assert first <= r;
            }
            live = nextLive;
            states = nextStates;
        }
        for (Live h : live) {
            finished.get(h.image()).add(new Hypothesis(List.copyOf(h.tokens()), h.score()));
        }
        List<Result> results = new ArrayList<>(n);
        for (int img = 0; img < n; img++) {
            List<Hypothesis> ranked = new ArrayList<>(finished.get(img));
            ranked.sort(Comparator.comparingDouble(h -> -penalised(h, alpha)));
            results.add(new Result(ranked));
        }
        return results;
    }

    private static double penalised(Hypothesis h, double alpha) {
        return alpha == 0
                ? h.logProbability()
                : h.logProbability() / Math.pow(Math.max(1, h.tokens().size() + 1), alpha);
    }

    private void run(
            long[] tokens, ByteBuffer features, float[][] states, int rows, float[] logits, float[][] nextStates)
            throws OrtException {
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            ByteBuffer tokenBuffer = Tensors.direct(rows * 8);
            LongBuffer tokenLongs = tokenBuffer.asLongBuffer();
            tokenLongs.put(tokens);
            inputs.put(tokensInput, Tensors.create(env, "INT64", new long[] {rows}, tokenBuffer));
            inputs.put(featuresInput, Tensors.create(env, "FP32", new long[] {rows, featureSize}, features));
            for (int s = 0; s < states.length; s++) {
                ByteBuffer stateBuffer = Tensors.direct(states[s].length * 4);
                stateBuffer.asFloatBuffer().put(states[s]);
                inputs.put(
                        stateInputs.get(s),
                        Tensors.create(env, "FP32", new long[] {rows, stateSizes.get(s)}, stateBuffer));
            }
            List<String> outputs = new ArrayList<>();
            outputs.add(logitsOutput);
            stateInputs.forEach(name -> outputs.add(name + "_out"));
            try (OrtSession.Result result = decoder.run(inputs, outputs)) {
                ((OnnxTensor) result.get(logitsOutput).orElseThrow())
                        .getFloatBuffer()
                        .get(logits);
                for (int s = 0; s < states.length; s++) {
                    nextStates[s] = new float[states[s].length];
                    ((OnnxTensor) result.get(stateInputs.get(s) + "_out").orElseThrow())
                            .getFloatBuffer()
                            .get(nextStates[s]);
                }
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private static double[] logSoftmax(float[] logits, int offset, int size) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < size; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < size; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        double log = max + Math.log(sum);
        double[] out = new double[size];
        for (int i = 0; i < size; i++) {
            out[i] = logits[offset + i] - log;
        }
        return out;
    }

    /** Indices of the k largest values, largest first, lower index first on ties. */
    private static int[] topIndices(double[] values, int k) {
        int[] best = new int[Math.min(k, values.length)];
        Arrays.fill(best, -1);
        for (int i = 0; i < values.length; i++) {
            for (int j = 0; j < best.length; j++) {
                if (best[j] < 0 || values[i] > values[best[j]]) {
                    System.arraycopy(best, j, best, j + 1, best.length - j - 1);
                    best[j] = i;
                    break;
                }
            }
        }
        return best;
    }
}
