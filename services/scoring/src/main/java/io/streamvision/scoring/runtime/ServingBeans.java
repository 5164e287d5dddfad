package io.streamvision.scoring.runtime;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import io.streamvision.kafka.KafkaClients;
import io.streamvision.runtime.DynamicBatcher;
import io.streamvision.runtime.InferenceEngine;
import io.streamvision.runtime.ServedModels;
import io.streamvision.scoring.ScoringConfig;
import io.streamvision.scoring.rollout.RolloutEventLog;
import io.streamvision.tracing.RecordTracing;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;

/**
 * The served models (the shared lifecycle: load at start, poll, hot swap) and the per-model dynamic
 * batchers that the Kafka loop, gRPC and REST all go through.
 */
public class ServingBeans {

    /** Loaded when the application starts rather than on first use. */
    @Produces
    @Singleton
    @Startup
    ServedModels models(ScoringConfig config, RolloutEventLog events) {
        return ServedModels.start(config, config.models().orElse(List.of()), rollouts -> {
            if (config.kafka().enabled()) {
                events.restoreInto(rollouts);
                rollouts.addListener(events::publish);
            }
        });
    }

    /** Rollout events on {@code vision.model-events.v1}, when the service uses Kafka. */
    @Produces
    @Singleton
    RolloutEventLog rolloutEvents(KafkaClients kafka) {
        return new RolloutEventLog(kafka);
    }

    void close(@Disposes RolloutEventLog events) {
        events.close();
    }

    @Produces
    @Singleton
    DynamicBatcher batcher(ServedModels models, MeterRegistry meters, RecordTracing tracing) {
        return new DynamicBatcher(
                models.registry(),
                new InferenceEngine(models.runtime()),
                meters,
                DynamicBatcher.fromConfigs(models.registry()),
                tracing);
    }

    void close(@Disposes ServedModels models) {
        models.close();
    }

    void close(@Disposes DynamicBatcher batcher) {
        batcher.close();
    }
}
