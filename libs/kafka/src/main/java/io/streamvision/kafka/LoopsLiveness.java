package io.streamvision.kafka;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

/**
 * Liveness of the process's transactional loops: DOWN as soon as one of them stopped as FAILED
 * (fenced by another instance with its transactional id, or out of commit attempts), naming the
 * loop and why. A failed loop never restarts by itself, so a process with one is alive but does
 * none of that loop's work: liveness DOWN makes the orchestrator replace it, as a Kafka Streams
 * application that dies ends its process ({@link StreamsHealthCheck}). Readiness goes DOWN too,
 * through each service's own check. A service subclasses it as a {@code @Liveness
 * @ApplicationScoped} bean (the command-line client shares this module but has no health checks).
 * Thread-safe.
 */
public abstract class LoopsLiveness implements HealthCheck {

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response =
                HealthCheckResponse.named("kafka-loops").up();
        for (TransactionalLoop failed : TransactionalLoop.failedLoops()) {
            response.down().withData(failed.name(), String.valueOf(failed.failure()));
        }
        return response.build();
    }
}
