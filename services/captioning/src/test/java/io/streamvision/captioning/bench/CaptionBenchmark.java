package io.streamvision.captioning.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.captioning.decode.BeamSearchDecoder;
import io.streamvision.captioning.decode.Vocabulary;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.runtime.ExecutionSettings;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ModelLoader;
import io.streamvision.testing.BenchmarkOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Caption decoding speed of the service's decoder (ONNX Runtime Java, the batched beam search of
 * {@link BeamSearchDecoder}) on the caption fixture's encoder features: greedy and beam 3, one
 * image per call and {@code --batch} images per call. Prints Markdown table rows ({@code
 * bench/captioning.sh} puts PyTorch's rows beside them).
 *
 * <pre>--models-dir DIR [--seconds 5] [--batch 32] [--threads 1]</pre>
 */
public final class CaptionBenchmark {

    private CaptionBenchmark() {}

    public static void main(String[] args) throws Exception {
        BenchmarkOptions options = BenchmarkOptions.parse(args);
        Path models = Path.of(options.get("models-dir", "models"));
        double seconds = options.decimal("seconds", 5);
        int batch = options.integer("batch", 32);
        int threads = options.integer("threads", 1);

        ModelRepository repository = new ModelRepository(models);
        ModelConfig config = repository.latest("caption-decoder").orElseThrow();
        Path dir = repository.versionDir(config.name(), config.version());
        ModelLoader runtime =
                new ModelLoader(repository, new ExecutionSettings("cpu", 0, 0, false, threads, 1, true, 1));
        LoadedModel model = runtime.load(config.name(), config.version());
        Vocabulary vocab = Vocabulary.read(dir.resolve("vocab.json"));
        BeamSearchDecoder decoder = new BeamSearchDecoder(runtime.environment(), model, vocab);

        List<float[]> fixture = new ArrayList<>();
        for (JsonNode entry : new ObjectMapper()
                .readTree(dir.resolve("fixtures/greedy.json").toFile())
                .get("fixtures")) {
            float[] f = new float[entry.get("features").size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) entry.get("features").get(i).asDouble();
            }
            fixture.add(f);
        }
        for (int beam : new int[] {1, 3}) {
            for (int size : new int[] {1, batch}) {
                row(decoder, fixture, beam, size, seconds, vocab.maxLength(), threads);
            }
        }
        model.release();
    }

    private static void row(
            BeamSearchDecoder decoder,
            List<float[]> fixture,
            int beam,
            int batch,
            double seconds,
            int maxTokens,
            int threads)
            throws Exception {
        List<float[]> inputs = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            inputs.add(fixture.get(i % fixture.size()));
        }
        for (int i = 0; i < 20; i++) {
            decoder.decode(inputs, beam, maxTokens, 0.0); // warm-up
        }
        List<Long> latencies = new ArrayList<>();
        long tokens = 0;
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            List<BeamSearchDecoder.Result> results = decoder.decode(inputs, beam, maxTokens, 0.0);
            latencies.add(System.nanoTime() - t0);
            tokens += results.stream().mapToLong(r -> r.best().tokens().size()).sum();
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        long[] sorted = latencies.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        double captionsPerSecond = latencies.size() * (double) batch / elapsed;
        System.out.printf(
                "| ONNX Runtime Java %s (service decoder) | %s | %d | %.0f | %.2f | %.2f | %.1f | %d |%n",
                runtimeVersion(),
                beam == 1 ? "greedy" : "beam " + beam,
                batch,
                captionsPerSecond,
                percentile(sorted, 0.50),
                percentile(sorted, 0.99),
                tokens / (double) (latencies.size() * batch),
                threads);
    }

    private static double percentile(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
    }

    private static String runtimeVersion() {
        Package p = ai.onnxruntime.OrtEnvironment.class.getPackage();
        return p.getImplementationVersion() == null ? "" : p.getImplementationVersion();
    }
}
