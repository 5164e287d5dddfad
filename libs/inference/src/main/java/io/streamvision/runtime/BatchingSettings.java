package io.streamvision.runtime;

import io.streamvision.model.ModelConfig;
import java.util.Locale;

/**
 * Dynamic batching limits and queue policy of one model, after Triton's {@code dynamic_batching}.
 *
 * @param maxBatchSize most rows run together
 * @param maxQueueDelayMicros longest a request waits for others to join its batch
 * @param maxQueueSize most requests waiting; beyond it callers are refused (gRPC) or wait (Kafka)
 * @param priorityLevels number of priority levels, 1 (highest) to this; requests of a higher level
 *     are always batched before those of a lower one
 * @param defaultPriority level of requests that name none
 * @param queuePolicy what happens to a request that waited longer than its timeout
 * @param instances batches that run at once, each on a batcher thread of its own (the model's
 *     {@link ExecutionSettings#instances()})
 */
public record BatchingSettings(
        int maxBatchSize,
        long maxQueueDelayMicros,
        int maxQueueSize,
        int priorityLevels,
        int defaultPriority,
        QueuePolicy queuePolicy,
        int instances) {

    /** No priorities and no queue timeout; one batch at a time. */
    public BatchingSettings(int maxBatchSize, long maxQueueDelayMicros, int maxQueueSize) {
        this(maxBatchSize, maxQueueDelayMicros, maxQueueSize, 1, 1, QueuePolicy.NONE);
    }

    /** One batch at a time. */
    public BatchingSettings(
            int maxBatchSize,
            long maxQueueDelayMicros,
            int maxQueueSize,
            int priorityLevels,
            int defaultPriority,
            QueuePolicy queuePolicy) {
        this(maxBatchSize, maxQueueDelayMicros, maxQueueSize, priorityLevels, defaultPriority, queuePolicy, 1);
    }

    /** These settings with another instance count. */
    public BatchingSettings withInstances(int count) {
        return new BatchingSettings(
                maxBatchSize, maxQueueDelayMicros, maxQueueSize, priorityLevels, defaultPriority, queuePolicy, count);
    }

    /**
     * Triton's queue policy.
     *
     * @param reject true: a request past its timeout is answered UNAVAILABLE ("REJECT"); false: it
     *     is run after every request that is still within its timeout ("DELAY")
     * @param defaultTimeoutMicros timeout of requests that name none; 0 is none
     * @param allowTimeoutOverride whether a request's own {@code timeout} parameter (microseconds)
     *     counts
     */
    public record QueuePolicy(boolean reject, long defaultTimeoutMicros, boolean allowTimeoutOverride) {

        /** No timeout. */
        public static final QueuePolicy NONE = new QueuePolicy(true, 0, false);
    }

    /**
     * The model config's batching block, or these defaults: 32 rows, 2 ms, 1024 requests, one
     * level.
     */
    public static BatchingSettings of(ModelConfig config) {
        ModelConfig.Batching b = config.batching();
        if (b == null) {
            return new BatchingSettings(32, 2000, 1024);
        }
        int levels = b.priorityLevels() != null && b.priorityLevels() > 0 ? b.priorityLevels() : 1;
        int defaultLevel = b.defaultPriorityLevel() != null && b.defaultPriorityLevel() > 0
                ? Math.min(levels, b.defaultPriorityLevel())
                : (levels + 1) / 2;
        QueuePolicy policy = QueuePolicy.NONE;
        ModelConfig.QueuePolicy q = b.defaultQueuePolicy();
        if (q != null) {
            String action =
                    q.timeoutAction() == null ? "REJECT" : q.timeoutAction().toUpperCase(Locale.ROOT);
            if (!action.equals("REJECT") && !action.equals("DELAY")) {
                throw new IllegalArgumentException("model "
                        + config.name()
                        + ": timeout_action must be REJECT or DELAY, not "
                        + q.timeoutAction());
            }
            policy = new QueuePolicy(
                    action.equals("REJECT"),
                    Math.max(0, q.defaultTimeoutUs()),
                    Boolean.TRUE.equals(q.allowTimeoutOverride()));
        }
        return new BatchingSettings(
                b.maxBatchSize() > 0 ? b.maxBatchSize() : 32,
                b.maxQueueDelayUs() >= 0 ? b.maxQueueDelayUs() : 2000,
                b.maxQueueSize() > 0 ? b.maxQueueSize() : 1024,
                levels,
                defaultLevel,
                policy);
    }
}
