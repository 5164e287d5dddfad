package io.streamvision.scoring.rollout;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.Startup;
import io.streamvision.rollout.Rollouts;
import io.streamvision.rollout.VersionComparison;
import io.streamvision.runtime.ServedModels;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * Each model's rollout on {@code /q/metrics} (label {@code model}): {@code vision_rollout_pairs},
 * {@code vision_rollout_top1_agreement}, {@code vision_rollout_top5_overlap}, {@code
 * vision_rollout_prob_diff_mean}, {@code vision_rollout_prob_diff_max}, {@code
 * vision_rollout_candidate_error_rate}, {@code vision_rollout_serving_p99_ms}, {@code
 * vision_rollout_candidate_p99_ms}, {@code vision_rollout_shadow_skipped}, for a detector {@code
 * vision_rollout_detection_agreement} and {@code vision_rollout_matched_iou}, {@code
 * vision_rollout_percent} (the candidate's share), {@code vision_rollout_status} (1 active, 2
 * promoted, 3 rolled back) and the counter {@code vision_rollout_events_total} (label {@code type}:
 * started, advanced, promoted, rolled_back).
 */
@ApplicationScoped
@Startup
public class RolloutMetrics {

    @Inject
    ServedModels models;

    @Inject
    MeterRegistry meters;

    private final Set<String> registered = ConcurrentHashMap.newKeySet();

    @PostConstruct
    void start() {
        Rollouts rollouts = models.registry().rollouts();
        rollouts.states().keySet().forEach(this::register);
        rollouts.addListener(event -> {
            register(event.model());
            Counter.builder("vision_rollout_events")
                    .tags("model", event.model(), "type", event.type())
                    .register(meters)
                    .increment();
        });
    }

    private void register(String model) {
        if (!registered.add(model)) {
            return;
        }
        Rollouts rollouts = models.registry().rollouts();
        gauge("vision_rollout_pairs", model, VersionComparison.Snapshot::pairs);
        gauge("vision_rollout_top1_agreement", model, VersionComparison.Snapshot::top1Agreement);
        gauge("vision_rollout_top5_overlap", model, VersionComparison.Snapshot::top5Overlap);
        gauge("vision_rollout_prob_diff_mean", model, VersionComparison.Snapshot::meanAbsDiff);
        gauge("vision_rollout_prob_diff_max", model, VersionComparison.Snapshot::maxAbsDiff);
        gauge("vision_rollout_candidate_error_rate", model, VersionComparison.Snapshot::candidateErrorRate);
        gauge("vision_rollout_serving_p99_ms", model, VersionComparison.Snapshot::servingP99Ms);
        gauge("vision_rollout_candidate_p99_ms", model, VersionComparison.Snapshot::candidateP99Ms);
        gauge("vision_rollout_shadow_skipped", model, VersionComparison.Snapshot::shadowSkipped);
        gauge("vision_rollout_detection_agreement", model, VersionComparison.Snapshot::detectionAgreement);
        gauge("vision_rollout_matched_iou", model, VersionComparison.Snapshot::matchedIou);
        Gauge.builder("vision_rollout_percent", rollouts, r -> {
                    Rollouts.State s = r.state(model);
                    return s == null ? Double.NaN : s.percent();
                })
                .tags(Tags.of("model", model))
                .register(meters);
        Gauge.builder("vision_rollout_status", rollouts, r -> {
                    Rollouts.State s = r.state(model);
                    return s == null ? 0 : s.status().ordinal() + 1;
                })
                .tags(Tags.of("model", model))
                .register(meters);
    }

    private void gauge(String name, String model, ToDoubleFunction<VersionComparison.Snapshot> value) {
        Rollouts rollouts = models.registry().rollouts();
        Gauge.builder(name, rollouts, r -> {
                    VersionComparison c = r.comparison(model);
                    return c == null ? Double.NaN : value.applyAsDouble(c.snapshot());
                })
                .tags(Tags.of("model", model))
                .register(meters);
    }
}
