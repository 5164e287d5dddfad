package io.streamvision.runtime;

import io.opentelemetry.context.Context;
import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The queue policy of one model's dynamic batcher, as Triton's model config sets it: one queue per
 * priority level (a higher level is always batched first), a queue timeout per request (the
 * default, or the request's own {@code timeout} parameter where the policy allows it) after which a
 * request is rejected or moved behind all others, and how requests form a batch (in order, up to
 * the maximum rows, the first request always).
 *
 * <p>Mechanism stays with {@link DynamicBatcher}: the lock, the waiting, the worker threads, the
 * answers and the metrics. Time is an argument ({@code now}, in {@link System#nanoTime()} units), so
 * the policy is tested without threads, clocks or a model. Not thread-safe: the batcher holds its
 * lock around every call.
 */
final class BatchQueue {

    /**
     * A waiting request; {@code deadlineNanos} is when its queue timeout expires (MAX_VALUE:
     * never).
     *
     * @param version the version it goes to (empty: the serving one)
     * @param routed true when the request named no version and the rollout chose it
     * @param rows its batch rows (the first dimension of its first input)
     */
    record Pending(
            ModelInferRequest request,
            String version,
            boolean routed,
            long rows,
            long enqueuedNanos,
            long deadlineNanos,
            CompletableFuture<InferenceEngine.Outcome> result,
            Context trace) {}

    private final BatchingSettings settings;

    /** One queue per priority level (index 0 is level 1, the highest). */
    private final ArrayDeque<Pending>[] levels;

    /** Requests past their queue timeout under a DELAY policy: after every level. */
    private final ArrayDeque<Pending> delayed = new ArrayDeque<>();

    @SuppressWarnings("unchecked")
    BatchQueue(BatchingSettings settings) {
        this.settings = settings;
        this.levels = new ArrayDeque[Math.max(1, settings.priorityLevels())];
        for (int i = 0; i < levels.length; i++) {
            levels[i] = new ArrayDeque<>();
        }
    }

    /** Requests waiting. */
    int waiting() {
        int n = delayed.size();
        for (ArrayDeque<Pending> level : levels) {
            n += level.size();
        }
        return n;
    }

    /** True when no more requests may wait (the model's {@code max_queue_size}). */
    boolean full() {
        return waiting() >= settings.maxQueueSize();
    }

    /** Queues a request at its priority level. */
    void add(Pending pending) {
        levels[priority(pending.request()) - 1].add(pending);
    }

    /** The next request to batch: the oldest of the highest non-empty level, then delayed ones. */
    Pending peek() {
        for (ArrayDeque<Pending> level : levels) {
            if (!level.isEmpty()) {
                return level.peek();
            }
        }
        return delayed.peek();
    }

    private Pending poll() {
        for (ArrayDeque<Pending> level : levels) {
            if (!level.isEmpty()) {
                return level.poll();
            }
        }
        return delayed.poll();
    }

    /**
     * Moves the next requests into {@code batch} while they fit in the maximum batch size (the first
     * one always does) and returns the batch's rows.
     */
    long fill(List<Pending> batch, long rows) {
        while (peek() != null && (batch.isEmpty() || rows + peek().rows() <= settings.maxBatchSize())) {
            Pending next = poll();
            rows += next.rows();
            batch.add(next);
        }
        return rows;
    }

    /** When a batch that starts with the next request must run at the latest. */
    long batchDeadline() {
        return peek().enqueuedNanos() + settings.maxQueueDelayMicros() * 1000;
    }

    /**
     * Takes requests past their queue timeout at {@code now} out of the levels: REJECT ones into
     * {@code rejected} (the caller answers them), DELAY ones to the back.
     */
    void expire(long now, List<Pending> rejected) {
        BatchingSettings.QueuePolicy policy = settings.queuePolicy();
        if (policy.defaultTimeoutMicros() <= 0 && !policy.allowTimeoutOverride()) {
            return; // no request can have a deadline: nothing to scan on the hot path
        }
        for (ArrayDeque<Pending> level : levels) {
            for (Iterator<Pending> it = level.iterator(); it.hasNext(); ) {
                Pending p = it.next();
                if (p.deadlineNanos() <= now) {
                    it.remove();
                    if (policy.reject()) {
                        rejected.add(p);
                    } else {
                        delayed.add(p);
                    }
                }
            }
        }
    }

    /** The request's priority level (parameter {@code priority}; 0 or absent: the default). */
    int priority(ModelInferRequest request) {
        long p = parameter(request, "priority");
        return (int) (p <= 0 ? settings.defaultPriority() : Math.min(levels.length, p));
    }

    /**
     * When the request's queue timeout expires if queued at {@code now}: its {@code timeout}
     * parameter (microseconds) if the policy allows it, else the default; MAX_VALUE for none.
     */
    long deadline(ModelInferRequest request, long now) {
        BatchingSettings.QueuePolicy policy = settings.queuePolicy();
        long micros = policy.defaultTimeoutMicros();
        long own = parameter(request, "timeout");
        if (policy.allowTimeoutOverride() && own > 0) {
            micros = own;
        }
        return micros <= 0 ? Long.MAX_VALUE : now + micros * 1000;
    }

    private static long parameter(ModelInferRequest request, String name) {
        InferParameter p = request.getParametersMap().get(name);
        if (p == null) {
            return 0;
        }
        return switch (p.getParameterChoiceCase()) {
            case INT64_PARAM -> p.getInt64Param();
            case UINT64_PARAM -> p.getUint64Param();
            case DOUBLE_PARAM -> (long) p.getDoubleParam();
            default -> 0;
        };
    }
}
