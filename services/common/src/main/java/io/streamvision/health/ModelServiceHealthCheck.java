package io.streamvision.health;

import io.streamvision.kafka.TransactionalLoop;
import io.streamvision.runtime.ServedModels;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

/**
 * The readiness check of a service that serves models and may run a transactional Kafka loop: UP
 * only when every configured model is served and the loop (when enabled) is RUNNING. The data lists
 * the served models, load failures, the loop's state, its failure and its partitions. A service
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
        boolean loopReady =
                loop.map(l -> l.state() == TransactionalLoop.State.RUNNING).orElse(true);
        HealthCheckResponseBuilder response = HealthCheckResponse.named(name())
                .withData(
                        "models",
                        models == null
                                ? "[]"
                                : models.registry().serving().keySet().toString())
                .withData(
                        "load-failures",
                        models == null ? "{}" : models.registry().failures().toString())
                .withData("kafka-loop", loop.map(l -> l.state().name()).orElse("DISABLED"))
                .withData(
                        "kafka-loop-failure",
                        loop.map(TransactionalLoop::failure).orElse(""))
                .withData(
                        "kafka-partitions",
                        loop.map(TransactionalLoop::assignedPartitions).orElse(0))
                .withData(
                        "kafka-transactions",
                        loop.map(TransactionalLoop::batches).orElse(0L))
                .withData(
                        "kafka-records-in",
                        loop.map(TransactionalLoop::recordsIn).orElse(0L))
                .withData(
                        "kafka-handle-ms",
                        loop.map(TransactionalLoop::handleMillis).orElse(0L))
                .withData(
                        "kafka-commit-ms",
                        loop.map(TransactionalLoop::commitMillis).orElse(0L));
        boolean own = ready(response);
        return response.status(modelsReady && loopReady && own).build();
    }
}
