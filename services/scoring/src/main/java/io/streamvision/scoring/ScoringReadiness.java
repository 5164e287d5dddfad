package io.streamvision.scoring;

import io.streamvision.health.ModelServiceHealthCheck;
import io.streamvision.kafka.TransactionalLoop;
import io.streamvision.runtime.ServedModels;
import io.streamvision.scoring.kafka.ScoringLoop;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import org.eclipse.microprofile.health.Readiness;

/** Ready only when every configured model is loaded and the Kafka loop (if enabled) is running. */
@Readiness
@ApplicationScoped
public class ScoringReadiness extends ModelServiceHealthCheck {

    @Inject
    ServedModels models;

    @Inject
    ScoringLoop loop;

    @Override
    protected String name() {
        return "scoring";
    }

    @Override
    protected ServedModels models() {
        return models;
    }

    @Override
    protected Optional<TransactionalLoop> loop() {
        return loop.loop();
    }
}
