package io.streamvision.runtime;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;

/**
 * Cumulative statistics per model version, as Triton's statistics extension reports them: requests
 * that succeeded and failed with their durations from arrival to answer, queue time, and the
 * compute time split into input conversion, the model run and output slicing (each request of a
 * batch counts its batch's times, as Triton counts them), executions per batch size, inferences
 * (rows) and executions (batches). The dynamic batcher writes them where it records its metrics,
 * so both tell the same story. Thread-safe.
 */
public final class InferenceStatistics {

    /** A count of events and their total duration. */
    public static final class Duration {
        private final LongAdder count = new LongAdder();
        private final LongAdder nanos = new LongAdder();

        void add(long events, long ns) {
            count.add(events);
            nanos.add(ns);
        }

        public long count() {
            return count.sum();
        }

        public long nanos() {
            return nanos.sum();
        }
    }

    /** Executions of one batch size. */
    public static final class BatchSize {
        private final Duration input = new Duration();
        private final Duration infer = new Duration();
        private final Duration output = new Duration();

        public Duration input() {
            return input;
        }

        public Duration infer() {
            return infer;
        }

        public Duration output() {
            return output;
        }
    }

    /**
     * Why a request failed, as Triton's {@code nv_inference_request_failure} labels it: REJECTED by
     * the scheduler (queue full, queue timeout), CANCELED, BACKEND (the model's run failed), OTHER
     * (anything else: an input that does not fit the model, a version that is no longer served).
     */
    public enum FailureReason {
        REJECTED,
        CANCELED,
        BACKEND,
        OTHER
    }

    /** The statistics of one model version. */
    public static final class Version {
        private final Duration success = new Duration();
        private final Duration fail = new Duration();
        private final LongAdder[] failures = new LongAdder[FailureReason.values().length];
        private final Duration queue = new Duration();
        private final Duration input = new Duration();
        private final Duration infer = new Duration();
        private final Duration output = new Duration();
        private final LongAdder inferences = new LongAdder();
        private final LongAdder executions = new LongAdder();
        private final Map<Long, BatchSize> batches = new ConcurrentHashMap<>();
        private volatile long lastInferenceMillis;

        /** One request answered after {@code ns} from its arrival. */
        public void succeeded(long ns) {
            success.add(1, ns);
            lastInferenceMillis = System.currentTimeMillis();
        }

        {
            for (int i = 0; i < failures.length; i++) {
                failures[i] = new LongAdder();
            }
        }

        /** One request failed after {@code ns} from its arrival, for {@code reason}. */
        public void failed(long ns, FailureReason reason) {
            fail.add(1, ns);
            failures[reason.ordinal()].increment();
        }

        /** Requests that failed for {@code reason}; over all reasons, {@link #fail()}'s count. */
        public long failures(FailureReason reason) {
            return failures[reason.ordinal()].sum();
        }

        /** One request waited {@code ns} in the queue. */
        public void queued(long ns) {
            queue.add(1, ns);
        }

        /**
         * One execution of {@code rows} rows for {@code requests} requests, with the time of each
         * part; every request counts the whole batch's times.
         */
        public void executed(int requests, long rows, long inputNs, long inferNs, long outputNs) {
            input.add(requests, requests * inputNs);
            infer.add(requests, requests * inferNs);
            output.add(requests, requests * outputNs);
            inferences.add(rows);
            executions.increment();
            BatchSize size = batches.computeIfAbsent(rows, r -> new BatchSize());
            size.input.add(1, inputNs);
            size.infer.add(1, inferNs);
            size.output.add(1, outputNs);
        }

        public Duration success() {
            return success;
        }

        public Duration fail() {
            return fail;
        }

        public Duration queue() {
            return queue;
        }

        public Duration computeInput() {
            return input;
        }

        public Duration computeInfer() {
            return infer;
        }

        public Duration computeOutput() {
            return output;
        }

        public long inferenceCount() {
            return inferences.sum();
        }

        public long executionCount() {
            return executions.sum();
        }

        /** Milliseconds since the epoch of the last answered request, 0 for none. */
        public long lastInferenceMillis() {
            return lastInferenceMillis;
        }

        /** Executions per batch size (rows), by size. */
        public Map<Long, BatchSize> batchSizes() {
            return new TreeMap<>(batches);
        }
    }

    /** Told of each model version's statistics once, when they are created. */
    @FunctionalInterface
    public interface NewVersion {
        void created(String model, String version, Version statistics);
    }

    private final Map<String, Map<String, Version>> models = new ConcurrentHashMap<>();
    private final List<NewVersion> listeners = new CopyOnWriteArrayList<>();

    /** The statistics of one model version, created at first use. */
    public Version of(String model, String version) {
        Map<String, Version> versions = models.computeIfAbsent(model, m -> new ConcurrentHashMap<>());
        Version existing = versions.get(version);
        if (existing != null) {
            return existing;
        }
        boolean[] created = {false};
        Version out = versions.computeIfAbsent(version, v -> {
            created[0] = true;
            return new Version();
        });
        if (created[0]) {
            listeners.forEach(l -> l.created(model, version, out));
        }
        return out;
    }

    /** Calls {@code listener} for every version's statistics that exist now and for each one created later. */
    public void onNewVersion(NewVersion listener) {
        listeners.add(listener);
        snapshot().forEach((m, versions) -> versions.forEach((v, s) -> listener.created(m, v, s)));
    }

    /** Every model version with statistics, by model and version. */
    public Map<String, Map<String, Version>> snapshot() {
        Map<String, Map<String, Version>> out = new TreeMap<>();
        models.forEach((m, versions) -> out.put(m, new TreeMap<>(versions)));
        return out;
    }
}
