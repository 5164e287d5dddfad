package io.streamvision.runtime;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Context;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.runtime.BatchQueue.Pending;
import io.streamvision.tracing.RecordTracing;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * One dynamic batcher per model, shared by every caller (the Kafka loop and gRPC). Requests queue
 * per model; a worker thread per model instance ({@link BatchingSettings#instances()}, Triton's
 * {@code instance_group} count) takes the first waiting request, lets others join until the batch
 * holds {@code maxBatchSize} rows or the first has waited {@code maxQueueDelayMicros}, runs the
 * batch once on the model's serving version, and completes each request with exactly its own rows;
 * with several instances, batches of one model run at once. When a model's settings change (a
 * new version with another batching block or instance count), its next request starts a queue
 * with the new settings; the old queue's workers finish what waits in it, then stop. When {@code
 * maxQueueSize} requests wait, {@link #submit} refuses with {@code RESOURCE_EXHAUSTED} and {@link
 * #submitWaiting} blocks until there is room (back-pressure for the Kafka loop). As in Triton, requests may carry a {@code priority} parameter (1 is the highest of
 * the model's {@code priority_levels}; a higher level is always batched first) and a {@code
 * timeout} parameter (microseconds in the queue, when the model's queue policy allows overrides); a
 * request past its timeout is answered {@code UNAVAILABLE} (REJECT) or run after all others
 * (DELAY).
 *
 * <p>Metrics per model and version, after Triton's {@code nv_inference_*}: {@code
 * vision_inference_request_success_total}, {@code vision_inference_request_failure_total}, {@code
 * vision_inference_count_total} (rows), {@code vision_inference_out_of_domain_total} (answers whose
 * input the model's out-of-domain score flags: a drift signal), {@code
 * vision_inference_exec_count_total} (batches; count /
 * exec_count is the average batch size), {@code vision_inference_queue_duration} and {@code
 * vision_inference_compute_duration} timers.
 *
 * <p>Thread-safe.
 */
public final class DynamicBatcher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(DynamicBatcher.class);

    private final ModelRegistry registry;
    private final InferenceEngine engine;
    private final MeterRegistry meters;
    private final Function<String, Optional<BatchingSettings>> settingsFor;
    private final RecordTracing tracing;
    private final Map<String, ModelQueue> queues = new ConcurrentHashMap<>();
    private final InferenceStatistics statistics = new InferenceStatistics();

    /** Rollout bookkeeping after each run, and the shadow runs. */
    private final RolloutShadows rollouts;

    private volatile boolean closed;

    /**
     * @param settingsFor batching limits of a model, empty when the model is not served
     */
    public DynamicBatcher(
            ModelRegistry registry,
            InferenceEngine engine,
            MeterRegistry meters,
            Function<String, Optional<BatchingSettings>> settingsFor) {
        this(registry, engine, meters, settingsFor, RecordTracing.OFF);
    }

    /**
     * With spans: each request's wait in the queue ("queue wait", in the trace that was current
     * when it was submitted) and each batch ("batch &lt;model&gt;", linked to every request it ran).
     */
    public DynamicBatcher(
            ModelRegistry registry,
            InferenceEngine engine,
            MeterRegistry meters,
            Function<String, Optional<BatchingSettings>> settingsFor,
            RecordTracing tracing) {
        this.registry = registry;
        this.engine = engine;
        this.meters = meters;
        this.settingsFor = settingsFor;
        this.tracing = tracing;
        this.rollouts = new RolloutShadows(registry, engine);
    }

    /** Cumulative statistics per model version (Triton's statistics extension), since start. */
    public InferenceStatistics statistics() {
        return statistics;
    }

    /** The version a failure before any batch counts against: the one served now, else "unknown". */
    private String servedVersion(String model) {
        LoadedModel current = registry.current(model);
        return current == null ? "unknown" : Integer.toString(current.version());
    }

    /** Batching limits from each served model's config. */
    public static Function<String, Optional<BatchingSettings>> fromConfigs(ModelRegistry registry) {
        return name -> Optional.ofNullable(registry.current(name)).map(LoadedModel::batching);
    }

    /** Queues a request; fails at once with RESOURCE_EXHAUSTED when the model's queue is full. */
    public CompletableFuture<InferenceEngine.Outcome> submit(ModelInferRequest request) {
        return enqueue(request, false);
    }

    /** Queues a request, waiting for room when the model's queue is full. */
    public CompletableFuture<InferenceEngine.Outcome> submitWaiting(ModelInferRequest request) {
        return enqueue(request, true);
    }

    private CompletableFuture<InferenceEngine.Outcome> enqueue(ModelInferRequest request, boolean wait) {
        String name = request.getModelName();
        while (true) {
            // Read again on every try: a retry follows a settings change.
            Optional<BatchingSettings> settings = settingsFor.apply(name);
            if (settings.isEmpty() || closed) {
                String message = registry.notServed(name, "");
                return CompletableFuture.completedFuture(new InferenceEngine.Outcome(
                        null,
                        new InferenceException(InferenceException.Kind.NOT_FOUND, ReasonCode.UNKNOWN_MODEL, message)));
            }
            ModelQueue queue = queues.get(name);
            if (queue == null || !queue.settings.equals(settings.get())) {
                queue = queues.compute(name, (n, current) -> {
                    if (current != null && current.settings.equals(settings.get())) {
                        return current;
                    }
                    if (current != null) {
                        current.retire();
                    }
                    return new ModelQueue(n, settings.get());
                });
            }
            CompletableFuture<InferenceEngine.Outcome> queued = queue.add(request, wait);
            if (queued != null) {
                return queued;
            }
            // The queue was retired by a settings change while this request waited for room.
        }
    }

    /** The key a rollout routes a request by: its video's id (frames of one video stay together), else its id. */
    static String routingKey(ModelInferRequest request) {
        return io.streamvision.model.FrameParameters.of(request)
                .map(io.streamvision.model.FrameParameters::videoId)
                .orElse(request.getId());
    }

    /** Requests waiting for a model, for metrics and tests. */
    public int queued(String model) {
        ModelQueue queue = queues.get(model);
        return queue == null ? 0 : queue.size();
    }

    @Override
    public void close() {
        closed = true;
        queues.values().forEach(ModelQueue::stop);
        rollouts.close();
    }

    /** The queue and workers of one model. */
    private final class ModelQueue implements Runnable {
        private final String model;
        private final BatchingSettings settings;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition notEmpty = lock.newCondition();
        private final Condition notFull = lock.newCondition();

        /** Priority levels, queue timeouts and batch forming; guarded by {@code lock}. */
        private final BatchQueue queue;
        /** One thread per instance; each takes the next batch when its last one is done. */
        private final List<Thread> workers = new ArrayList<>();

        private volatile boolean running = true;

        /** Set when newer settings replaced this queue: it takes nothing more and drains. */
        private boolean retired;

        ModelQueue(String model, BatchingSettings settings) {
            this.model = model;
            this.settings = settings;
            this.queue = new BatchQueue(settings);
            for (int i = 0; i < settings.instances(); i++) {
                Thread worker = new Thread(this, "batcher-" + model + (settings.instances() > 1 ? "-" + i : ""));
                worker.setDaemon(true);
                workers.add(worker);
            }
            workers.forEach(Thread::start);
        }

        int size() {
            lock.lock();
            try {
                return queue.waiting();
            } finally {
                lock.unlock();
            }
        }

        /** Stops taking requests; the workers run what is waiting, then end. */
        void retire() {
            lock.lock();
            try {
                retired = true;
                notEmpty.signalAll();
                notFull.signalAll();
            } finally {
                lock.unlock();
            }
        }

        /** The request's future, or null when this queue is retired (the caller asks again). */
        CompletableFuture<InferenceEngine.Outcome> add(ModelInferRequest request, boolean wait) {
            long rows = request.getInputsCount() > 0 && request.getInputs(0).getShapeCount() > 0
                    ? Math.max(1, request.getInputs(0).getShape(0))
                    : 1;
            CompletableFuture<InferenceEngine.Outcome> result = new CompletableFuture<>();
            lock.lock();
            try {
                while (!retired && queue.full()) {
                    if (!wait) {
                        counter("vision_inference_request_failure", "unknown", "RESOURCE_EXHAUSTED")
                                .increment();
                        statistics
                                .of(model, servedVersion(model))
                                .failed(0, InferenceStatistics.FailureReason.REJECTED);
                        return CompletableFuture.completedFuture(new InferenceEngine.Outcome(
                                null,
                                new InferenceException(
                                        InferenceException.Kind.RESOURCE_EXHAUSTED,
                                        ReasonCode.INFERENCE_FAILED,
                                        "model '"
                                                + model
                                                + "' has "
                                                + queue.waiting()
                                                + " requests queued, the limit; retry later")));
                    }
                    notFull.awaitUninterruptibly();
                }
                if (retired) {
                    return null;
                }
                long now = System.nanoTime();
                String version = request.getModelVersion();
                boolean routed = version.isEmpty();
                if (routed) {
                    version = registry.rollouts().route(model, routingKey(request));
                    if (!version.isEmpty() && !registry.loaded(model, version)) {
                        version = ""; // the candidate is not loaded (yet): the serving version answers
                    }
                }
                queue.add(new Pending(
                        request, version, routed, rows, now, queue.deadline(request, now), result, Context.current()));
                notEmpty.signal();
            } finally {
                lock.unlock();
            }
            return result;
        }

        @Override
        public void run() {
            // Where this worker writes each batch's inputs; reused from batch to batch.
            BatchBuffers buffers = new BatchBuffers();
            while (running) {
                List<Pending> batch;
                try {
                    batch = nextBatch();
                } catch (InterruptedException e) {
                    return;
                }
                if (!batch.isEmpty()) {
                    execute(batch, buffers);
                } else if (isDrained()) {
                    return;
                }
            }
        }

        private boolean isDrained() {
            lock.lock();
            try {
                return retired && queue.waiting() == 0;
            } finally {
                lock.unlock();
            }
        }

        /**
         * Waits for a first request, then for others until the batch is full or the delay is up;
         * higher priority levels go first, and requests past their queue timeout are rejected or
         * moved behind the others, as the model's queue policy says.
         */
        private List<Pending> nextBatch() throws InterruptedException {
            List<Pending> batch = new ArrayList<>();
            List<Pending> rejected = new ArrayList<>();
            lock.lock();
            try {
                while (true) {
                    queue.expire(System.nanoTime(), rejected);
                    // Leave with the loop below, which answers the requests that timed out.
                    if (queue.waiting() > 0 || !rejected.isEmpty() || !running || retired) {
                        break;
                    }
                    notEmpty.await(100, TimeUnit.MILLISECONDS);
                }
                if (queue.waiting() > 0) {
                    long deadline = queue.batchDeadline();
                    long rows = 0;
                    while (true) {
                        queue.expire(System.nanoTime(), rejected);
                        rows = queue.fill(batch, rows);
                        long left = deadline - System.nanoTime();
                        // A retired queue gets no more requests: nothing to wait for.
                        if (rows >= settings.maxBatchSize() || left <= 0 || queue.peek() != null || retired) {
                            break;
                        }
                        notEmpty.awaitNanos(left);
                    }
                }
                if (queue.waiting() > 0) {
                    // One signal per request may have woken only this worker: hand the rest on to
                    // another instance instead of leaving it asleep until the next request.
                    notEmpty.signal();
                }
                notFull.signalAll();
            } finally {
                lock.unlock();
            }
            for (Pending p : rejected) {
                counter("vision_inference_request_failure", "unknown", "TIMEOUT")
                        .increment();
                statistics
                        .of(model, servedVersion(model))
                        .failed(System.nanoTime() - p.enqueuedNanos(), InferenceStatistics.FailureReason.REJECTED);
                p.result()
                        .complete(new InferenceEngine.Outcome(
                                null,
                                new InferenceException(
                                        InferenceException.Kind.UNAVAILABLE,
                                        ReasonCode.INFERENCE_FAILED,
                                        "request for model '"
                                                + model
                                                + "' waited "
                                                + (System.nanoTime() - p.enqueuedNanos()) / 1000
                                                + " us in the queue, past its"
                                                + " timeout of "
                                                + (p.deadlineNanos() - p.enqueuedNanos()) / 1000
                                                + " us")));
            }
            return batch;
        }

        /**
         * Runs a batch: one run per version its requests go to (the serving version, a rollout's
         * candidate for the keys in its share, or the version a request names).
         */
        private void execute(List<Pending> batch, BatchBuffers buffers) {
            Pending first = batch.get(0);
            if (batch.stream().allMatch(p -> p.version().equals(first.version()) && p.routed() == first.routed())) {
                executeOn(first.version(), first.routed(), batch, buffers);
                return;
            }
            Map<String, List<Pending>> byVersion = new java.util.LinkedHashMap<>();
            for (Pending p : batch) {
                byVersion
                        .computeIfAbsent((p.routed() ? "" : "=") + p.version(), v -> new ArrayList<>())
                        .add(p);
            }
            byVersion.forEach(
                    (key, part) -> executeOn(part.get(0).version(), part.get(0).routed(), part, buffers));
        }

        /**
         * @param routed the requests named no version (the rollout chose it): only those count in
         *     the rollout's comparison
         */
        private void executeOn(String wanted, boolean routed, List<Pending> batch, BatchBuffers buffers) {
            long start = System.nanoTime();
            Optional<LoadedModel> acquired = registry.acquire(model, wanted);
            if (acquired.isEmpty()) {
                LoadedModel current = registry.current(model);
                InferenceException gone = current == null
                        ? new InferenceException(
                                InferenceException.Kind.UNAVAILABLE,
                                ReasonCode.UNKNOWN_MODEL,
                                "model '" + model + "' is not loaded")
                        : new InferenceException(
                                InferenceException.Kind.NOT_FOUND,
                                ReasonCode.UNKNOWN_MODEL,
                                "model '" + model + "' version " + wanted + " is not served; serving version "
                                        + current.version());
                String counted = current == null ? "unknown" : Integer.toString(current.version());
                for (Pending p : batch) {
                    counter(
                                    "vision_inference_request_failure",
                                    counted,
                                    gone.kind().name())
                            .increment();
                    statistics
                            .of(model, counted)
                            .failed(System.nanoTime() - p.enqueuedNanos(), InferenceStatistics.FailureReason.OTHER);
                    p.result().complete(new InferenceEngine.Outcome(null, gone));
                }
                return;
            }
            LoadedModel loaded = acquired.get();
            String version = Integer.toString(loaded.version());
            VersionMeters counted = meters(version);
            InferenceStatistics.Version stats = statistics.of(model, version);
            try {
                List<ModelInferRequest> requests = new ArrayList<>(batch.size());
                List<Pending> runnable = new ArrayList<>(batch.size());
                for (Pending p : batch) {
                    counted.queue().record(start - p.enqueuedNanos(), TimeUnit.NANOSECONDS);
                    stats.queued(start - p.enqueuedNanos());
                    requests.add(p.request());
                    runnable.add(p);
                }
                if (runnable.isEmpty()) {
                    return;
                }
                SpanBuilder batchSpan = tracing.builder("batch " + model)
                        .setNoParent()
                        .setAttribute("model", model)
                        .setAttribute("model.version", version)
                        .setAttribute("batch.requests", runnable.size());
                for (Pending p : runnable) {
                    tracing.elapsed("queue wait", p.trace(), p.enqueuedNanos());
                    SpanContext request = Span.fromContext(p.trace()).getSpanContext();
                    if (request.isValid()) {
                        batchSpan.addLink(request);
                    }
                }
                Span span = batchSpan.startSpan();
                long computeStart = System.nanoTime();
                List<InferenceEngine.Outcome> outcomes;
                try {
                    outcomes = engine.infer(loaded, requests, buffers);
                } finally {
                    span.end();
                }
                long computeNanos = System.nanoTime() - computeStart;
                if (routed) {
                    rollouts.afterRun(loaded, requests, outcomes, computeNanos);
                }
                counted.compute().record(computeNanos, TimeUnit.NANOSECONDS);
                counted.executions().increment();
                long rows = 0;
                int answered = 0;
                for (InferenceEngine.Outcome outcome : outcomes) {
                    answered += outcome.ok() ? 1 : 0;
                }
                long done = System.nanoTime();
                for (int i = 0; i < runnable.size(); i++) {
                    if (outcomes.get(i).ok()) {
                        rows += runnable.get(i).rows();
                    }
                }
                if (answered > 0) {
                    stats.executed(answered, rows, buffers.inputNanos(), buffers.inferNanos(), buffers.outputNanos());
                }
                rows = 0;
                for (int i = 0; i < runnable.size(); i++) {
                    InferenceEngine.Outcome outcome = outcomes.get(i);
                    if (outcome.ok()) {
                        stats.succeeded(done - runnable.get(i).enqueuedNanos());
                    } else {
                        stats.failed(
                                done - runnable.get(i).enqueuedNanos(),
                                outcome.error().kind() == InferenceException.Kind.INTERNAL
                                        ? InferenceStatistics.FailureReason.BACKEND
                                        : InferenceStatistics.FailureReason.OTHER);
                    }
                    if (outcome.ok()) {
                        rows += runnable.get(i).rows();
                        counted.success().increment();
                        double[] domain = DomainScore.read(outcome.response().getParametersMap());
                        if (domain != null && domain[2] > 0) {
                            counter("vision_inference_out_of_domain", version, null)
                                    .increment();
                        }
                    } else {
                        counter(
                                        "vision_inference_request_failure",
                                        version,
                                        outcome.error().kind().name())
                                .increment();
                    }
                    runnable.get(i).result().complete(outcome);
                }
                counted.rows().increment(rows);
            } catch (RuntimeException e) {
                LOG.errorf(e, "Batch of %d for %s failed", batch.size(), model);
                long failedAt = System.nanoTime();
                batch.forEach(
                        p -> stats.failed(failedAt - p.enqueuedNanos(), InferenceStatistics.FailureReason.BACKEND));
                InferenceException failure = new InferenceException(
                        InferenceException.Kind.INTERNAL,
                        ReasonCode.INFERENCE_FAILED,
                        "model '" + model + "' failed: " + e.getMessage());
                batch.forEach(p -> p.result().complete(new InferenceEngine.Outcome(null, failure)));
            } finally {
                loaded.release();
            }
        }

        /**
         * Meters by name, version and reason, registered once instead of looked up on every
         * request.
         */
        private final Map<String, Counter> counters = new ConcurrentHashMap<>();

        private final Map<String, Timer> timers = new ConcurrentHashMap<>();

        /** The meters of one model version that every batch updates, registered once. */
        private record VersionMeters(Counter success, Counter executions, Counter rows, Timer queue, Timer compute) {}

        private final Map<String, VersionMeters> versionMeters = new ConcurrentHashMap<>();

        private VersionMeters meters(String version) {
            return versionMeters.computeIfAbsent(version, v -> {
                // Shown at zero from the first batch on, so a rate over it exists before the
                // first out-of-domain answer.
                counter("vision_inference_out_of_domain", v, null);
                return new VersionMeters(
                        counter("vision_inference_request_success", v, null),
                        counter("vision_inference_exec_count", v, null),
                        counter("vision_inference_count", v, null),
                        timer("vision_inference_queue_duration", v),
                        timer("vision_inference_compute_duration", v));
            });
        }

        private Counter counter(String name, String version, String reason) {
            return counters.computeIfAbsent(name + '\u0000' + version + '\u0000' + reason, k -> {
                Counter.Builder builder =
                        Counter.builder(name).tag("model", model).tag("version", version);
                if (reason != null) {
                    builder.tag("reason", reason);
                }
                return builder.register(meters);
            });
        }

        private Timer timer(String name, String version) {
            return timers.computeIfAbsent(
                    name + '\u0000' + version,
                    k -> Timer.builder(name)
                            .tag("model", model)
                            .tag("version", version)
                            .publishPercentiles(0.5, 0.99)
                            .register(meters));
        }

        void stop() {
            running = false;
            workers.forEach(Thread::interrupt);
        }
    }
}
