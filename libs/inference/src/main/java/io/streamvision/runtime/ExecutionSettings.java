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
     * The intra-op threads a session gets: the setting; or with 0 and several instances the cores
     * divided among them (at least one each); or with 0 in a process held to fewer cores than the
     * machine has ({@code taskset}, a container's CPU limit) those cores, because ONNX Runtime's own
     * default counts the machine's cores and its spinning threads would then take turns on the few
     * the process has (2.4x slower for fashion-cnn on one core of two, docs/performance.md); else
     * 0, ONNX Runtime's default.
     */
    public int sessionIntraOpThreads(int cores, int hostCores) {
        if (intraOpThreads > 0) {
            return intraOpThreads;
        }
        if (instances > 1) {
            return Math.max(1, cores / instances);
        }
        return cores < hostCores ? Math.max(1, cores) : 0;
    }

    /**
     * The machine's online cores ({@code /sys/devices/system/cpu/online} on Linux), which ONNX
     * Runtime sizes its thread pools from whatever this process may use; elsewhere what the JVM
     * sees.
     */
    public static int hostCores() {
        int visible = Runtime.getRuntime().availableProcessors();
        try {
            String online = java.nio.file.Files.readString(java.nio.file.Path.of("/sys/devices/system/cpu/online"))
                    .strip();
            int n = 0;
            for (String part : online.split(",")) {
                String[] range = part.split("-");
                n += range.length == 1 ? 1 : Integer.parseInt(range[1]) - Integer.parseInt(range[0]) + 1;
            }
            return Math.max(n, visible);
        } catch (java.io.IOException | RuntimeException e) {
            return visible;
        }
    }

    /**
     * These settings on a CPU with {@code cores} cores (what the JVM sees: its affinity and its
     * container's CPU limit): more instances than cores only take turns on them, each slower for
     * the other's cache, so they are capped at the cores. On a GPU the instances stay as set (they
     * overlap copies and kernels on the device, not on the cores).
     */
    public ExecutionSettings forCores(int cores, String provider) {
        if ("cuda".equals(provider) || instances <= Math.max(1, cores)) {
            return this;
        }
        return new ExecutionSettings(
                this.provider,
                cudaDeviceId,
                cudaMemoryLimitBytes,
                cudnnExhaustiveSearch,
                intraOpThreads,
                interOpThreads,
                spinning,
                Math.max(1, cores));
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
