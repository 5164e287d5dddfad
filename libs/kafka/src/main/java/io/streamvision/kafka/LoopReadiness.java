package io.streamvision.kafka;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
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
        return report(List.of(loop.get()), prefix, response);
    }

    /**
     * Adds the readiness data of several loops that do the same work (members of one group in one
     * instance) under one {@code prefix}, as {@link #report(Optional, String,
     * HealthCheckResponseBuilder)} does for one: the state is {@code RUNNING} when every loop runs,
     * otherwise the first other state ({@code FAILED} before {@code STARTING} before {@code
     * STOPPED}); failures are joined; counters and partitions are summed; {@code -loops} is their
     * number and {@code -transactions-each} each loop's transactions, comma-separated (a loop that
     * commits none while the others do holds partitions with no work, or is stuck). No loops read
     * {@code DISABLED}.
     *
     * @return whether every loop is RUNNING, or true when there are none
     */
    public static boolean report(List<TransactionalLoop> loops, String prefix, HealthCheckResponseBuilder response) {
        if (loops.isEmpty()) {
            response.withData(prefix, "DISABLED");
            return true;
        }
        TransactionalLoop.State state = loops.stream()
                .map(TransactionalLoop::state)
                .min(Comparator.comparingInt(LoopReadiness::severity))
                .orElseThrow();
        String failures = loops.stream()
                .map(TransactionalLoop::failure)
                .filter(f -> f != null && !f.isEmpty())
                .collect(Collectors.joining("; "));
        response.withData(prefix, state.name())
                .withData(prefix + "-failure", failures)
                .withData(prefix + "-loops", loops.size())
                .withData(prefix + "-partitions", sum(loops, TransactionalLoop::partitions))
                .withData(prefix + "-transactions", sum(loops, TransactionalLoop::batches))
                .withData(
                        prefix + "-transactions-each",
                        loops.stream().map(l -> Long.toString(l.batches())).collect(Collectors.joining(",")))
                .withData(prefix + "-records-in", sum(loops, TransactionalLoop::recordsIn))
                .withData(prefix + "-records-out", sum(loops, TransactionalLoop::recordsOut))
                .withData(prefix + "-handle-ms", sum(loops, TransactionalLoop::handleMillis))
                .withData(prefix + "-commit-ms", sum(loops, TransactionalLoop::commitMillis));
        return state == TransactionalLoop.State.RUNNING;
    }

    /** Lower is reported first. */
    private static int severity(TransactionalLoop.State state) {
        return switch (state) {
            case FAILED -> 0;
            case STARTING -> 1;
            case STOPPED -> 2;
            case RUNNING -> 3;
        };
    }

    private static long sum(List<TransactionalLoop> loops, ToLongFunction<TransactionalLoop> counter) {
        return loops.stream().mapToLong(counter).sum();
    }
}
