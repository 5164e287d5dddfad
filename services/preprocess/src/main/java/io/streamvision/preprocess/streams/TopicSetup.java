package io.streamvision.preprocess.streams;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.smallrye.common.annotation.Identifier;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.runtime.StartupEvent;
import io.streamvision.kafka.KafkaTopicsConfig;
import io.streamvision.kafka.KafkaConnection;
import io.streamvision.kafka.TopicProvisioner;
import io.streamvision.preprocess.PreprocessConfig;

/** Creates the image, dead-letter and default tensor topics at start-up when asked to (video topics: VideoLoops). */
@ApplicationScoped
public class TopicSetup {

    void onStart(@Observes StartupEvent event, KafkaTopicsConfig kafka, PreprocessConfig config,
                 @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers,
                 @Identifier("default-kafka-broker") Map<String, Object> kafkaConfig) {
        if (!kafka.createTopics()) {
            return;
        }
        List<String> names = new ArrayList<>(List.of(kafka.topics().images(), kafka.topics().deadLetters()));
        config.defaultModels().forEach(model -> names.add(kafka.topics().tensors(model)));
        TopicProvisioner.ensure(bootstrapServers, KafkaConnection.settings(kafkaConfig), names, kafka.partitions(), kafka.replicationFactor());
    }
}
