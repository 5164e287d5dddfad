package io.streamvision.scoring.triton;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.Startup;
import io.streamvision.runtime.DynamicBatcher;
import io.streamvision.runtime.InferenceStatistics;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ServedModels;
import io.streamvision.scoring.ScoringConfig;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.function.ToDoubleFunction;

/**
 * Triton's per-model metric names on {@code /q/metrics}, beside the service's own {@code
 * vision_inference_*}, so a dashboard written for Triton shows this service: {@code
 * nv_inference_request_success}, {@code nv_inference_request_failure}, {@code nv_inference_count},
 * {@code nv_inference_exec_count}, {@code nv_inference_request_duration_us}, {@code
 * nv_inference_queue_duration_us}, {@code nv_inference_compute_input_duration_us}, {@code
 * nv_inference_compute_infer_duration_us}, {@code nv_inference_compute_output_duration_us}
 * (cumulative, labels {@code model} and {@code version}, and {@code reason} on failures, as
 * Triton labels them) and {@code
 * nv_inference_pending_request_count} (requests waiting in the model's queue). Read from the same
 * statistics as {@code ModelStatistics}. They are written as gauges holding the running totals:
 * the Prometheus registry would name a counter {@code ..._total}, which Triton's queries do not
 * ask for; {@code rate()} reads them the same. On by default ({@code
 * vision.scoring.metrics.triton-names}): they cost one gauge per name per model version, and a
 * team moving from Triton keeps its dashboards.
 */
@ApplicationScoped
@Startup
public class TritonMetrics {

    @Inject
    ScoringConfig config;

    @Inject
    DynamicBatcher batcher;

    @Inject
    ServedModels models;

    @Inject
    MeterRegistry meters;

    @PostConstruct
    void start() {
        if (!config.metrics().tritonNames()) {
            return;
        }
        InferenceStatistics statistics = batcher.statistics();
        statistics.onNewVersion(this::register);
        // Served versions show from the start, at zero, as Triton shows its loaded models.
        models.afterEachPoll(() -> {
            for (LoadedModel m : models.registry().serving().values()) {
                statistics.of(m.name(), Integer.toString(m.version()));
            }
        });
    }

    private void register(String model, String version, InferenceStatistics.Version s) {
        if ("unknown".equals(version)) {
            return;
        }
        Tags tags = Tags.of("model", model, "version", version);
        gauge(
                "nv_inference_request_success",
                "Requests answered",
                tags,
                s,
                v -> v.success().count());
        for (InferenceStatistics.FailureReason reason : InferenceStatistics.FailureReason.values()) {
            gauge(
                    "nv_inference_request_failure",
                    "Requests failed, by reason (REJECTED, CANCELED, BACKEND, OTHER)",
                    tags.and("reason", reason.name()),
                    s,
                    v -> v.failures(reason));
        }
        gauge("nv_inference_count", "Inferences (rows)", tags, s, v -> v.inferenceCount());
        gauge("nv_inference_exec_count", "Model executions (batches)", tags, s, v -> v.executionCount());
        gauge(
                "nv_inference_request_duration_us",
                "Cumulative request duration, arrival to answer, in microseconds",
                tags,
                s,
                v -> (v.success().nanos() + v.fail().nanos()) / 1000.0);
        gauge(
                "nv_inference_queue_duration_us",
                "Cumulative queue duration in microseconds",
                tags,
                s,
                v -> v.queue().nanos() / 1000.0);
        gauge(
                "nv_inference_compute_input_duration_us",
                "Cumulative input preparation duration in microseconds",
                tags,
                s,
                v -> v.computeInput().nanos() / 1000.0);
        gauge(
                "nv_inference_compute_infer_duration_us",
                "Cumulative model run duration in microseconds",
                tags,
                s,
                v -> v.computeInfer().nanos() / 1000.0);
        gauge(
                "nv_inference_compute_output_duration_us",
                "Cumulative output extraction duration in microseconds",
                tags,
                s,
                v -> v.computeOutput().nanos() / 1000.0);
        Gauge.builder("nv_inference_pending_request_count", batcher, b -> b.queued(model))
                .description("Requests waiting in the model's queue")
                .tags(tags)
                .register(meters);
    }

    private void gauge(
            String name,
            String description,
            Tags tags,
            InferenceStatistics.Version s,
            ToDoubleFunction<InferenceStatistics.Version> value) {
        Gauge.builder(name, s, value).description(description).tags(tags).register(meters);
    }
}
