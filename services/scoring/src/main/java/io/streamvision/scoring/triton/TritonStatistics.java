package io.streamvision.scoring.triton;

import io.streamvision.proto.inference.InferBatchStatistics;
import io.streamvision.proto.inference.InferStatistics;
import io.streamvision.proto.inference.ModelStatistics;
import io.streamvision.proto.inference.ModelStatisticsResponse;
import io.streamvision.proto.inference.StatisticDuration;
import io.streamvision.runtime.InferenceStatistics;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ModelRegistry;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The batcher's cumulative statistics as Triton's {@code ModelStatisticsResponse}: one entry per
 * model version that is served now or has answered requests since the service started (a served
 * version with no requests yet gets zeros, as Triton gives). Stateless.
 */
public final class TritonStatistics {

    private TritonStatistics() {}

    /**
     * The statistics of model {@code name} (every model when empty), of {@code version} (every
     * version when empty); empty when a named model or version is neither served nor has any.
     */
    public static Optional<ModelStatisticsResponse> of(
            InferenceStatistics statistics, ModelRegistry registry, String name, String version) {
        Map<String, Map<String, InferenceStatistics.Version>> byModel = new TreeMap<>(statistics.snapshot());
        for (Map.Entry<String, LoadedModel> served : registry.serving().entrySet()) {
            byModel.computeIfAbsent(served.getKey(), k -> new TreeMap<>())
                    .computeIfAbsent(
                            Integer.toString(served.getValue().version()), v -> new InferenceStatistics.Version());
        }
        byModel.values().forEach(versions -> versions.remove("unknown"));
        ModelStatisticsResponse.Builder out = ModelStatisticsResponse.newBuilder();
        byModel.forEach((model, versions) -> {
            if (!name.isEmpty() && !name.equals(model)) {
                return;
            }
            versions.forEach((v, s) -> {
                if (version.isEmpty() || version.equals(v)) {
                    out.addModelStats(entry(model, v, s));
                }
            });
        });
        if (!name.isEmpty() && out.getModelStatsCount() == 0) {
            return Optional.empty();
        }
        return Optional.of(out.build());
    }

    static ModelStatistics entry(String model, String version, InferenceStatistics.Version s) {
        ModelStatistics.Builder out = ModelStatistics.newBuilder()
                .setName(model)
                .setVersion(version)
                .setLastInference(s.lastInferenceMillis())
                .setInferenceCount(s.inferenceCount())
                .setExecutionCount(s.executionCount())
                .setInferenceStats(InferStatistics.newBuilder()
                        .setSuccess(duration(s.success()))
                        .setFail(duration(s.fail()))
                        .setQueue(duration(s.queue()))
                        .setComputeInput(duration(s.computeInput()))
                        .setComputeInfer(duration(s.computeInfer()))
                        .setComputeOutput(duration(s.computeOutput()))
                        .setCacheHit(StatisticDuration.getDefaultInstance())
                        .setCacheMiss(StatisticDuration.getDefaultInstance()));
        s.batchSizes()
                .forEach((size, b) -> out.addBatchStats(InferBatchStatistics.newBuilder()
                        .setBatchSize(size)
                        .setComputeInput(duration(b.input()))
                        .setComputeInfer(duration(b.infer()))
                        .setComputeOutput(duration(b.output()))));
        return out.build();
    }

    private static StatisticDuration duration(InferenceStatistics.Duration d) {
        return StatisticDuration.newBuilder()
                .setCount(d.count())
                .setNs(d.nanos())
                .build();
    }
}
