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
 */
public record ExecutionSettings(
        String provider,
        int cudaDeviceId,
        long cudaMemoryLimitBytes,
        boolean cudnnExhaustiveSearch,
        int intraOpThreads,
        int interOpThreads,
        boolean spinning) {

    /** CPU with ONNX Runtime's default threading. */
    public static final ExecutionSettings CPU = new ExecutionSettings("cpu", 0, 0, false, 0, 0, true);

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
                own.allowSpinning() != null ? own.allowSpinning() : spinning);
    }
}
