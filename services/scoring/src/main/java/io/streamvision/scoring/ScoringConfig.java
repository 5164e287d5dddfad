package io.streamvision.scoring;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.streamvision.imaging.ImagesConfig;
import io.streamvision.kafka.KafkaLoopConfig;
import io.streamvision.runtime.ModelServingConfig;
import io.streamvision.security.EndpointSecurityConfig;
import java.util.List;
import java.util.Optional;

/** Settings of the scoring service ({@code vision.scoring.*}). */
@ConfigMapping(prefix = "vision.scoring")
public interface ScoringConfig extends ModelServingConfig, EndpointSecurityConfig {

    /** Models to serve; empty serves every model in the repository. */
    Optional<List<String>> models();

    /** Labels in each classification when the request does not say. */
    @WithDefault("5")
    int topK();

    /**
     * Models besides caption encoders whose feature vectors are published to vision.features.v1
     * (e.g. for similarity search); caption encoders always publish.
     */
    Optional<List<String>> emitFeatures();

    /** Image limits of the Classify call ({@code vision.scoring.images.*}). */
    ImagesConfig images();

    /** The Kafka loop. */
    Kafka kafka();

    /** Metric names ({@code vision.scoring.metrics.*}). */
    Metrics metrics();

    /** Which metric names the service exports besides its own {@code vision_inference_*}. */
    interface Metrics {
        /**
         * Also export Triton's per-model names ({@code nv_inference_*}, labels {@code model} and
         * {@code version}), so a dashboard written for Triton shows this service.
         */
        @WithDefault("true")
        boolean tritonNames();
    }

    /**
     * The transactional Kafka loop ({@code vision.scoring.kafka.*}); the shared loop keys, with
     * this service's defaults in {@code application.properties}.
     */
    interface Kafka extends KafkaLoopConfig {
        /** Run the loop at all (off for a gRPC-only deployment). */
        @WithDefault("true")
        boolean enabled();
    }
}
