package io.streamvision.kafka;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.LongSupplier;

/**
 * How many times a failed part may be started afresh in the process: at most {@link #MAX} within
 * {@link #WINDOW}; beyond that the failure is left to end the part (and the orchestrator to
 * replace the process), so a failure that comes back at once does not loop in place.
 * Thread-safe.
 */
final class RestartBudget {

    /** Restarts allowed within {@link #WINDOW}. */
    static final int MAX = 5;

    /** The window {@link #MAX} counts in. */
    static final Duration WINDOW = Duration.ofMinutes(10);

    private final LongSupplier nanoClock;
    private final Deque<Long> used = new ArrayDeque<>();
    private long total;

    RestartBudget(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    /** Takes one restart if the window has one left. */
    synchronized boolean take() {
        long now = nanoClock.getAsLong();
        while (!used.isEmpty() && now - used.peekFirst() >= WINDOW.toNanos()) {
            used.pollFirst();
        }
        if (used.size() >= MAX) {
            return false;
        }
        used.addLast(now);
        total++;
        return true;
    }

    /** Restarts taken within the current window. */
    synchronized int inWindow() {
        return used.size();
    }

    /** Restarts taken since the budget was made. */
    synchronized long total() {
        return total;
    }
}
