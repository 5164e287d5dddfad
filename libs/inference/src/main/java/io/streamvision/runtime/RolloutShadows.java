package io.streamvision.runtime;

import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.rollout.Rollouts;
import io.streamvision.rollout.VersionComparison;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The dynamic batcher's part in a model rollout: after each run it counts the run for its side
 * (serving version or candidate) and, on a sampled batch, runs the same requests on the other side
 * on a thread of its own; the other side's outputs go only to the comparison, never to a caller.
 * The thread takes a few batches at most: a batch that finds it busy is counted as skipped, so
 * shadow work never holds up the serving path. Thread-safe.
 */
final class RolloutShadows implements AutoCloseable {

    private final ModelRegistry registry;
    private final InferenceEngine engine;

    /**
     * Runs rollout shadows: one thread, a few batches queued; a batch that finds the queue full is
     * not paired (counted as skipped), so shadow work never holds up the serving path.
     */
    private final ThreadPoolExecutor shadows =
            new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4), r -> {
                Thread t = new Thread(r, "rollout-shadow");
                t.setDaemon(true);
                return t;
            });

    /** The shadow thread's input buffers. */
    private final BatchBuffers shadowBuffers = new BatchBuffers();

    RolloutShadows(ModelRegistry registry, InferenceEngine engine) {
        this.registry = registry;
        this.engine = engine;
    }

    /**
     * Rollout bookkeeping after a run: counts it for its side, and on a sampled batch hands the same
     * requests to the other side on the shadow thread, whose outputs go only to the comparison.
     */
    void afterRun(
            LoadedModel ran, List<ModelInferRequest> requests, List<InferenceEngine.Outcome> outcomes, long nanos) {
        String model = ran.name();
        Rollouts.State state = registry.rollouts().state(model);
        VersionComparison comparison = registry.rollouts().comparison(model);
        Integer candidate = state == null ? null : state.activeCandidate();
        if (candidate == null || comparison == null) {
            return;
        }
        boolean ranCandidate = ran.version() == candidate;
        if (!ranCandidate && ran.version() != state.servingVersion()) {
            return; // a request that named another version: not part of the rollout
        }
        int errors = 0;
        for (InferenceEngine.Outcome o : outcomes) {
            errors += o.ok() ? 0 : 1;
        }
        comparison.ran(ranCandidate, outcomes.size(), errors);
        int[] pair = registry.rollouts().pairNext(model);
        if (pair == null) {
            return;
        }
        String other = Integer.toString(ranCandidate ? pair[0] : pair[1]);
        try {
            shadows.execute(() -> shadow(ran.config(), other, ranCandidate, requests, outcomes, nanos, comparison));
        } catch (RejectedExecutionException busy) {
            comparison.skipped(requests.size());
        }
    }

    private void shadow(
            ModelConfig ranConfig,
            String otherVersion,
            boolean ranCandidate,
            List<ModelInferRequest> requests,
            List<InferenceEngine.Outcome> answered,
            long answeredNanos,
            VersionComparison comparison) {
        Optional<LoadedModel> other = registry.acquire(requests.get(0).getModelName(), otherVersion);
        if (other.isEmpty()) {
            return;
        }
        try {
            long start = System.nanoTime();
            List<InferenceEngine.Outcome> shadowed;
            try {
                shadowed = engine.infer(other.get(), requests, shadowBuffers);
            } catch (RuntimeException e) {
                comparison.ran(!ranCandidate, requests.size(), requests.size());
                return;
            }
            long nanos = System.nanoTime() - start;
            int errors = 0;
            for (InferenceEngine.Outcome o : shadowed) {
                errors += o.ok() ? 0 : 1;
            }
            comparison.ran(!ranCandidate, shadowed.size(), errors);
            ModelConfig otherConfig = other.get().config();
            if (ranCandidate) {
                comparison.timed(nanos, answeredNanos);
            } else {
                comparison.timed(answeredNanos, nanos);
            }
            for (int i = 0; i < requests.size(); i++) {
                var a = answered.get(i).response();
                var b = shadowed.get(i).response();
                if (ranCandidate) {
                    comparison.pair(requests.get(i), otherConfig, b, ranConfig, a);
                } else {
                    comparison.pair(requests.get(i), ranConfig, a, otherConfig, b);
                }
            }
        } finally {
            other.get().release();
        }
    }

    @Override
    public void close() {
        shadows.shutdownNow();
    }
}
