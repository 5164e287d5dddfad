package io.streamvision.kafka;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.jboss.logging.Logger;

/**
 * Keeps a Kafka Streams application either serving or gone, never half alive: readiness is UP only
 * while it is RUNNING (not while it rebalances, and not after it failed) and its clients have had a
 * connection to the cluster within the last {@link #BROKER_GRACE} (Kafka Streams stays RUNNING
 * while the brokers are unreachable, retrying for ever); when it reaches ERROR
 * (every stream thread died) the supervisor calls {@code onFailure}, which in the services ends the
 * process so the orchestrator starts a fresh one that resumes from the committed offsets. On
 * shutdown it closes the application and makes its members leave the group, so the other instances
 * take its partitions at once instead of after the session timeout. Thread-safe.
 */
public final class StreamsSupervisor implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(StreamsSupervisor.class);

    private final String name;
    private final KafkaStreams streams;
    private final Runnable onFailure;
    /** How long the application may be without any connection to the cluster and still be ready. */
    public static final Duration BROKER_GRACE = Duration.ofSeconds(15);

    private final ScheduledExecutorService watch;
    private volatile boolean closing;
    private volatile boolean failed;
    private volatile long lastConnectedNanos = System.nanoTime();

    /**
     * Watches {@code streams} every {@code period}.
     *
     * @param onFailure run once when the application reaches ERROR
     */
    public StreamsSupervisor(String name, KafkaStreams streams, Duration period, Runnable onFailure) {
        this.name = name;
        this.streams = streams;
        this.onFailure = onFailure;
        this.watch = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name + "-streams-supervisor");
            t.setDaemon(true);
            return t;
        });
        watch.scheduleWithFixedDelay(this::check, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void check() {
        if (connections() > 0) {
            lastConnectedNanos = System.nanoTime();
        }
        KafkaStreams.State state = streams.state();
        if (!closing && !failed && (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.PENDING_ERROR)) {
            failed = true;
            LOG.errorf(
                    "%s: Kafka Streams is %s (its stream threads died); readiness is DOWN and the process ends so"
                            + " that a fresh one resumes from the committed offsets",
                    name, state);
            onFailure.run();
        }
    }

    /**
     * The Streams configuration that makes its consumers send a leave-group request when they
     * close, which Kafka Streams turns off by default for dynamic members (its {@code
     * CloseOptions.leaveGroup} acts only on static ones).
     */
    public static Map<String, Object> leaveGroupOnClose() {
        return Map.of(StreamsConfig.mainConsumerPrefix("internal.leave.group.on.close"), true);
    }

    /** Open connections of the application's clients (consumers, producers, admin) to brokers. */
    private double connections() {
        double open = 0;
        for (Map.Entry<MetricName, ? extends Metric> m : streams.metrics().entrySet()) {
            if (m.getKey().name().equals("connection-count") && m.getValue().metricValue() instanceof Double d) {
                open += d;
            }
        }
        return open;
    }

    /** How long ago a client of the application last had a connection to a broker. */
    private Duration sinceConnected() {
        return Duration.ofNanos(System.nanoTime() - lastConnectedNanos);
    }

    /** True only while the application is RUNNING and not cut off from the cluster. */
    public boolean ready() {
        return streams.state() == KafkaStreams.State.RUNNING && sinceConnected().compareTo(BROKER_GRACE) < 0;
    }

    /** Why the application is cut off from the cluster, if it is. */
    public Optional<String> cutOff() {
        Duration since = sinceConnected();
        return since.compareTo(BROKER_GRACE) < 0
                ? Optional.empty()
                : Optional.of("no connection to any Kafka broker for " + since.toSeconds() + " s");
    }

    /** The readiness check of this application. */
    public HealthCheckResponse readiness() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named(name + "-kafka-streams")
                .status(ready())
                .withData("state", streams.state().name());
        cutOff().ifPresent(reason -> response.withData("reason", reason));
        return response.build();
    }

    /** Closes the application, its members leaving the group, and stops watching. */
    @Override
    public void close() {
        closing = true;
        watch.shutdownNow();
        if (streams.state() != KafkaStreams.State.NOT_RUNNING) {
            streams.close(new KafkaStreams.CloseOptions().leaveGroup(true).timeout(Duration.ofSeconds(10)));
        }
    }
}
