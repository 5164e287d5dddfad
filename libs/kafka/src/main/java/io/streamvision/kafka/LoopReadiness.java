package io.streamvision.kafka;

import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

/**
 * A transactional loop's part of a service's readiness check: its state and counters as the
 * check's data, and whether it lets the service be ready. The loop itself knows nothing of health
 * checks; the services' {@code @Readiness} beans call this.
 */
public final class LoopReadiness {

    private LoopReadiness() {}

    /**
     * Adds a loop's readiness data under {@code prefix}: its state ({@code DISABLED} when there is
     * no loop), {@code -failure}, {@code -partitions} (held now), {@code -transactions}, {@code
     * -records-in} and {@code -records-out} (committed so far), {@code -handle-ms} (time in the
     * handler) and {@code -commit-ms} (time producing and committing).
     *
     * @return whether the loop is RUNNING, or true when there is none
     */
    public static boolean report(Optional<TransactionalLoop> loop, String prefix, HealthCheckResponseBuilder response) {
        if (loop.isEmpty()) {
            response.withData(prefix, "DISABLED");
            return true;
        }
        TransactionalLoop l = loop.get();
        TransactionalLoop.State state = l.state();
        String failure = l.failure();
        response.withData(prefix, state.name())
                .withData(prefix + "-failure", failure == null ? "" : failure)
                .withData(prefix + "-partitions", l.partitions())
                .withData(prefix + "-transactions", l.batches())
                .withData(prefix + "-records-in", l.recordsIn())
                .withData(prefix + "-records-out", l.recordsOut())
                .withData(prefix + "-handle-ms", l.handleMillis())
                .withData(prefix + "-commit-ms", l.commitMillis());
        return state == TransactionalLoop.State.RUNNING;
    }
}
