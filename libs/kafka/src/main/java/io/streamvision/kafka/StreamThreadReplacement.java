package io.streamvision.kafka;

import java.time.Duration;
import java.util.function.LongSupplier;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.jboss.logging.Logger;

/**
 * What a service's Kafka Streams application does when one of its stream threads dies: a thread
 * that died of the cluster (a Kafka client error under Kafka Streams' own wrapper, such as a
 * transaction the coordinator lost while a broker went away) is replaced in the process, at most
 * {@link #MAX_REPLACEMENTS} times in {@link #WINDOW}; anything else, or more than that, shuts the
 * application down, and the {@link StreamsSupervisor} ends the process so a fresh one resumes.
 *
 * <p>Replacing is safe under exactly-once: the dead thread's tasks are closed dirty, their open
 * transaction is never committed (its records are aborted, by the coordinator at the transaction
 * timeout at the latest), and the new thread resumes from the committed offsets and the
 * changelogs, the same as a restarted process but without leaving the group or loading the
 * models again. A service that runs Kafka Streams declares a {@code @Singleton} subclass: the Quarkus
 * extension hands the one bean of this type to its application. Thread-safe.
 */
public class StreamThreadReplacement implements StreamsUncaughtExceptionHandler {

    private static final Logger LOG = Logger.getLogger(StreamThreadReplacement.class);

    /** Replacements allowed within {@link #WINDOW}; the next failure ends the application. */
    public static final int MAX_REPLACEMENTS = RestartBudget.MAX;

    /** The window {@link #MAX_REPLACEMENTS} counts in. */
    public static final Duration WINDOW = RestartBudget.WINDOW;

    private final RestartBudget budget;

    public StreamThreadReplacement() {
        this(System::nanoTime);
    }

    /** With a clock of its own, for tests. */
    StreamThreadReplacement(LongSupplier nanoClock) {
        this.budget = new RestartBudget(nanoClock);
    }

    @Override
    public StreamThreadExceptionResponse handle(Throwable exception) {
        Throwable cause = clusterCause(exception);
        if (cause == null) {
            LOG.errorf(exception, "A stream thread died of an error that is not the cluster's; the application ends");
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        }
        if (!budget.take()) {
            LOG.errorf(
                    exception,
                    "A stream thread died of %s after %d replacements within %d minutes; the application ends",
                    cause,
                    MAX_REPLACEMENTS,
                    WINDOW.toMinutes());
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        }
        LOG.warnf(
                "A stream thread died of %s; a new one resumes its tasks from the committed offsets (%d of %d"
                        + " replacements allowed within %d minutes)",
                cause, budget.inWindow(), MAX_REPLACEMENTS, WINDOW.toMinutes());
        return StreamThreadExceptionResponse.REPLACE_THREAD;
    }

    /** Stream threads replaced since the process started. */
    public long replacements() {
        return budget.total();
    }

    /**
     * The Kafka client error under Kafka Streams' wrappers that killed the thread, or null when the
     * thread died of something else (a processor's bug, an error of the JVM).
     */
    static Throwable clusterCause(Throwable exception) {
        for (Throwable t = exception; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof KafkaException && !(t instanceof StreamsException)) {
                return t;
            }
        }
        return null;
    }
}
