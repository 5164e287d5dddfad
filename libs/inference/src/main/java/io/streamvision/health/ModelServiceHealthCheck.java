package io.streamvision.health;

import io.streamvision.kafka.LoopReadiness;
import io.streamvision.kafka.TransactionalLoop;
import io.streamvision.runtime.ServedModels;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

/**
 * The readiness check of a service that serves models and may run a transactional Kafka loop: UP
 * only when every configured model is served and the loop (when enabled) is RUNNING. The data lists
 * the served models, load failures and the loop's report ({@link LoopReadiness#report}, under
 * {@code kafka}). A service
 * subclasses it as an {@code @Readiness @ApplicationScoped} bean.
 */
public abstract class ModelServiceHealthCheck implements HealthCheck {

    /** The name readiness reports it under. */
    protected abstract String name();

    protected abstract ServedModels models();

    /** The service's Kafka loop; empty when it is disabled. */
    protected abstract Optional<TransactionalLoop> loop();

    /** What the service needs besides its models and loop; adds its own data. True by default. */
    protected boolean ready(HealthCheckResponseBuilder response) {
        return true;
    }

    @Override
    public HealthCheckResponse call() {
        ServedModels models = models();
        Optional<TransactionalLoop> loop = loop();
        boolean modelsReady = models != null && models.ready();
        HealthCheckResponseBuilder response = HealthCheckResponse.named(name())
                .withData(
                        "models",
                        models == null
                                ? "[]"
                                : models.registry().serving().keySet().toString())
                .withData(
                        "load-failures",
                        models == null ? "{}" : models.registry().failures().toString());
        boolean loopReady = LoopReadiness.report(loop, "kafka", response);
        boolean own = ready(response);
        return response.status(modelsReady && loopReady && own).build();
    }
}
