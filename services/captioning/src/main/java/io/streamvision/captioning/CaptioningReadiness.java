package io.streamvision.captioning;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.streamvision.captioning.decode.CaptionModels;
import io.streamvision.captioning.kafka.CaptioningLoop;
import io.streamvision.kafka.TransactionalLoop;

/** Ready only when the decoder and vocabulary are loaded and the Kafka loop (if enabled) is running. */
@Readiness
@ApplicationScoped
public class CaptioningReadiness implements HealthCheck {

    @Inject
    CaptionModels models;

    @Inject
    CaptioningLoop loop;

    @Override
    public HealthCheckResponse call() {
        boolean loopReady = loop.loop().map(l -> l.state() == TransactionalLoop.State.RUNNING).orElse(true);
        return HealthCheckResponse.named("captioning")
                .status(models.ready() && loopReady)
                .withData("decoder-loaded", models.ready())
                .withData("load-failures", models.registry() == null ? "{}" : models.registry().failures().toString())
                .withData("kafka-loop", loop.loop().map(l -> l.state().name()).orElse("DISABLED"))
                .withData("kafka-loop-failure", loop.loop().map(TransactionalLoop::failure).orElse(""))
                .build();
    }
}
