package io.streamvision.runtime;

import io.streamvision.model.ModelConfig;

/**
 * Dynamic batching limits of one model.
 *
 * @param maxBatchSize most rows run together
 * @param maxQueueDelayMicros longest a request waits for others to join its batch
 * @param maxQueueSize most requests waiting; beyond it callers are refused (gRPC) or wait (Kafka)
 */
public record BatchingSettings(int maxBatchSize, long maxQueueDelayMicros, int maxQueueSize) {

    /** The model config's batching block, or these defaults: 32 rows, 2 ms, 1024 requests. */
    public static BatchingSettings of(ModelConfig config) {
        ModelConfig.Batching b = config.batching();
        if (b == null) {
            return new BatchingSettings(32, 2000, 1024);
        }
        return new BatchingSettings(b.maxBatchSize() > 0 ? b.maxBatchSize() : 32,
                b.maxQueueDelayUs() >= 0 ? b.maxQueueDelayUs() : 2000, b.maxQueueSize() > 0 ? b.maxQueueSize() : 1024);
    }
}
