package io.streamvision.captioning.streams;

import io.streamvision.kafka.StreamsHealthCheck;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.streams.KafkaStreams;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness of the results Kafka Streams application: UP only while RUNNING (see {@link
 * StreamsHealthCheck}).
 */
@Readiness
@ApplicationScoped
public class StreamsHealth extends StreamsHealthCheck {

    @Inject
    KafkaStreams streams;

    @Override
    protected KafkaStreams streams() {
        return streams;
    }

    @Override
    protected String name() {
        return "results";
    }
}
