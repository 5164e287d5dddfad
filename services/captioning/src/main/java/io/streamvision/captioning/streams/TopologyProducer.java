package io.streamvision.captioning.streams;

import java.time.Duration;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;

import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.kafka.KafkaTopicsConfig;

/** Builds the results topology from configuration; Quarkus runs it. */
@ApplicationScoped
public class TopologyProducer {

    @Produces
    public Topology topology(CaptioningConfig config, KafkaTopicsConfig kafka) {
        StreamsBuilder builder = new StreamsBuilder();
        ResultsTopology.build(builder, kafka.topics(), kafka.deadLetters(), Set.copyOf(config.results().classifiers()),
                Duration.ofMillis(config.results().windowMs()), Duration.ofMillis(config.results().punctuateMs()));
        return builder.build();
    }
}
