package io.streamvision.preprocess.streams;

import io.streamvision.kafka.KafkaTopicsConfig;
import io.streamvision.model.ModelCatalog;
import io.streamvision.model.ModelRepository;
import io.streamvision.preprocess.ImageModels;
import io.streamvision.preprocess.PreprocessConfig;
import io.streamvision.tracing.RecordTracing;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;

/**
 * Builds the preprocess topology and the model catalog from configuration; Quarkus runs the
 * topology.
 */
@ApplicationScoped
public class TopologyProducer {

    /** The one view of the model repository that images and videos share. */
    @Produces
    @Singleton
    public ModelCatalog catalog(PreprocessConfig config) {
        return new ModelCatalog(
                new ModelRepository(Path.of(config.modelsDir())), Duration.ofSeconds(config.modelsPollSeconds()));
    }

    @Produces
    public Topology topology(
            PreprocessConfig config, KafkaTopicsConfig kafka, ModelCatalog catalog, RecordTracing tracing) {
        ImagePreparation preparation = new ImagePreparation(
                kafka.topics(),
                kafka.deadLetters(),
                new ImageModels(catalog, config.defaultModels(), config.images().preferUint8()),
                config.images().decoder(),
                tracing);
        StreamsBuilder builder = new StreamsBuilder();
        PreprocessTopology.build(builder, kafka.topics(), preparation, tracing);
        return builder.build();
    }
}
