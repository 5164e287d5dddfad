package io.streamvision.kafka;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import org.apache.kafka.streams.KafkaStreams;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;

/**
 * The readiness check of a service's Kafka Streams application, supervised by a {@link
 * StreamsSupervisor}: UP only while RUNNING, the process ending when the application fails, and a
 * shutdown that leaves the group before the Kafka Streams extension closes it. A service subclasses
 * it as a {@code @Readiness @Singleton} bean whose one constructor receives its application.
 */
public abstract class StreamsHealthCheck implements HealthCheck {

    private final String name;
    private final KafkaStreams streams;
    private volatile StreamsSupervisor supervisor;

    /**
     * @param name what readiness reports it under
     * @param streams the supervised application
     */
    protected StreamsHealthCheck(String name, KafkaStreams streams) {
        this.name = name;
        this.streams = streams;
    }

    void start(@Observes StartupEvent event) {
        supervisor = new StreamsSupervisor(name, streams, Duration.ofSeconds(2), () -> Quarkus.asyncExit(1));
    }

    /** Before the Kafka Streams extension's own shutdown, so the members leave the group. */
    void stop(@Observes @Priority(1) ShutdownEvent event) {
        if (supervisor != null) {
            supervisor.close();
        }
    }

    @Override
    public HealthCheckResponse call() {
        StreamsSupervisor s = supervisor;
        return s == null ? HealthCheckResponse.down(name + "-kafka-streams") : s.readiness();
    }
}
