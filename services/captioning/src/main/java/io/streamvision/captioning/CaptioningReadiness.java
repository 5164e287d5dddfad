package io.streamvision.captioning;

import io.streamvision.captioning.decode.Captioner;
import io.streamvision.captioning.kafka.CaptioningLoop;
import io.streamvision.health.ModelServiceHealthCheck;
import io.streamvision.kafka.TransactionalLoop;
import io.streamvision.runtime.ServedModels;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready only when the decoder and vocabulary are loaded and the Kafka loop (if enabled) is running.
 */
@Readiness
@ApplicationScoped
public class CaptioningReadiness extends ModelServiceHealthCheck {

    @Inject
    Captioner captioner;

    @Inject
    CaptioningLoop loop;

    @Override
    protected String name() {
        return "captioning";
    }

    @Override
    protected ServedModels models() {
        return captioner.models();
    }

    @Override
    protected Optional<TransactionalLoop> loop() {
        return loop.loop();
    }

    @Override
    protected boolean ready(HealthCheckResponseBuilder response) {
        response.withData("decoder-loaded", captioner.ready());
        return captioner.ready();
    }
}
