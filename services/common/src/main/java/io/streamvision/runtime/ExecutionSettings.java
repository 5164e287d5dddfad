package io.streamvision.runtime;

import io.streamvision.model.ModelConfig;

/**
 * How ONNX Runtime sessions are created.
 *
 * @param provider {@code cpu}, {@code cuda} or {@code auto} (CUDA when the GPU build and a device
 *     are present, otherwise CPU with one warning)
 * @param cudaDeviceId CUDA device ordinal
 * @param cudaMemoryLimitBytes GPU memory arena limit, 0 for ONNX Runtime's default
 * @param cudnnExhaustiveSearch try every cuDNN convolution algorithm (slower start, faster runs)
 * @param intraOpThreads threads inside one operator, 0 for ONNX Runtime's default
 * @param interOpThreads threads across operators, 0 for ONNX Runtime's default
 * @param spinning let ONNX Runtime's idle worker threads spin for the next job (its default);
 *     off, they sleep and leave the cores to the broker, the Kafka clients and gRPC
 * @param instances batches of one model that run at once, each on a batcher thread of its own
 *     (Triton's {@code instance_group} count); with more than one and {@code intraOpThreads} 0,
 *     each run gets the cores divided among the instances. Small models gain from two on shared
 *     cores, large ones lose (docs/performance.md), so a model chooses its own
 */
public record ExecutionSettings(
        String provider,
        int cudaDeviceId,
        long cudaMemoryLimitBytes,
        boolean cudnnExhaustiveSearch,
        int intraOpThreads,
        int interOpThreads,
        boolean spinning,
        int instances) {

    /** CPU with ONNX Runtime's default threading, one batch at a time. */
    public static final ExecutionSettings CPU = new ExecutionSettings("cpu", 0, 0, false, 0, 0, true, 1);

    public ExecutionSettings {
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be at least 1, not " + instances);
        }
    }

    /**
     * The intra-op threads a session gets: the setting, or with 0 and several instances the cores
     * divided among them (at least one each); 0 still means ONNX Runtime's default.
     */
    public int sessionIntraOpThreads(int cores) {
        if (intraOpThreads > 0 || instances <= 1) {
            return intraOpThreads;
        }
        return Math.max(1, cores / instances);
    }

    /**
     * These settings with a model's own {@code execution} block applied: its thread counts and
     * spinning, where it gives them, win over the service's.
     */
    public ExecutionSettings forModel(ModelConfig.Execution own) {
        if (own == null) {
            return this;
        }
        return new ExecutionSettings(
                provider,
                cudaDeviceId,
                cudaMemoryLimitBytes,
                cudnnExhaustiveSearch,
                own.intraOpThreads() != null ? own.intraOpThreads() : intraOpThreads,
                own.interOpThreads() != null ? own.interOpThreads() : interOpThreads,
                own.allowSpinning() != null ? own.allowSpinning() : spinning,
                own.instances() != null ? own.instances() : instances);
    }
}
