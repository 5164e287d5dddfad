package io.streamvision.preprocess.streams;

import io.quarkus.runtime.StartupEvent;
import io.streamvision.kafka.KafkaClients;
import io.streamvision.kafka.Topics;
import io.streamvision.preprocess.PreprocessConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.ArrayList;
import java.util.List;

/**
 * Creates the image, dead-letter and default tensor topics at start-up when asked to (video topics:
 * VideoLoops).
 */
@ApplicationScoped
public class TopicSetup {

    void onStart(@Observes StartupEvent event, KafkaClients kafka, PreprocessConfig config) {
        Topics topics = kafka.topics();
        List<String> names = new ArrayList<>(
                List.of(topics.images().name(), topics.deadLetters().name()));
        config.defaultModels().forEach(model -> names.add(topics.tensors(model).name()));
        kafka.ensureTopics(names);
    }
}
