package io.streamvision.scoring;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.streamvision.kafka.TransactionalLoop;
import io.streamvision.scoring.kafka.ScoringLoop;
import io.streamvision.scoring.runtime.ScoringModels;

/** Ready only when every configured model is loaded and the Kafka loop (if enabled) is running. */
@Readiness
@ApplicationScoped
public class ScoringReadiness implements HealthCheck {

    @Inject
    ScoringModels models;

    @Inject
    ScoringLoop loop;

    @Override
    public HealthCheckResponse call() {
        boolean modelsReady = models.registry() != null && models.registry().allLoaded();
        String loopState = loop.loop().map(l -> l.state().name()).orElse("DISABLED");
        boolean loopReady = loop.loop().map(l -> l.state() == TransactionalLoop.State.RUNNING).orElse(true);
        return HealthCheckResponse.named("scoring")
                .status(modelsReady && loopReady)
                .withData("models", models.registry() == null ? "[]" : models.registry().serving().keySet().toString())
                .withData("load-failures", models.registry() == null ? "{}" : models.registry().failures().toString())
                .withData("kafka-loop", loopState)
                .withData("kafka-loop-failure", loop.loop().map(TransactionalLoop::failure).orElse(""))
                .withData("kafka-partitions", loop.loop().map(TransactionalLoop::assignedPartitions).orElse(0))
                .build();
    }
}
