package io.streamvision.captioning.streams;

import io.streamvision.kafka.StreamsHealthCheck;
import jakarta.inject.Singleton;
import org.apache.kafka.streams.KafkaStreams;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness of the results Kafka Streams application: UP only while RUNNING (see {@link
 * StreamsHealthCheck}).
 */
@Readiness
@Singleton
public class StreamsHealth extends StreamsHealthCheck {

    StreamsHealth(KafkaStreams streams) {
        super("results", streams);
    }
}
