package io.streamvision.runtime;

import io.smallrye.config.WithDefault;
import io.streamvision.model.ModelRepositoryConfig;

/**
 * Settings of a service that runs models with ONNX Runtime: the repository keys and {@code
 * execution.*}, the same under every such service's prefix.
 */
public interface ModelServingConfig extends ModelRepositoryConfig {

    /** ONNX Runtime execution settings. */
    Execution execution();

    /** ONNX Runtime execution settings ({@code <prefix>.execution.*}). */
    interface Execution {
        /** cpu, cuda or auto. */
        @WithDefault("auto")
        String provider();

        /** CUDA device ordinal. */
        @WithDefault("0")
        int cudaDeviceId();

        /** GPU memory arena limit in bytes; 0 for no limit. */
        @WithDefault("0")
        long cudaMemoryLimitBytes();

        /** Exhaustive cuDNN convolution search. */
        @WithDefault("false")
        boolean cudnnExhaustiveSearch();

        /** Threads inside one operator; 0 for ONNX Runtime's default. */
        @WithDefault("0")
        int intraOpThreads();

        /** Threads across operators; 0 for ONNX Runtime's default. */
        @WithDefault("0")
        int interOpThreads();

        /**
         * Whether idle ONNX Runtime worker threads spin waiting for the next job (its default) or
         * sleep, leaving the cores to the broker, the Kafka clients and gRPC.
         */
        @WithDefault("true")
        boolean spinning();

        /**
         * Batches of one model that run at once, each on its own batcher thread (a model's {@code
         * execution.instances} wins).
         */
        @WithDefault("1")
        int instances();

        /** These settings as the runtime takes them. */
        default ExecutionSettings settings() {
            return new ExecutionSettings(
                    provider(),
                    cudaDeviceId(),
                    cudaMemoryLimitBytes(),
                    cudnnExhaustiveSearch(),
                    intraOpThreads(),
                    interOpThreads(),
                    spinning(),
                    instances());
        }
    }
}
