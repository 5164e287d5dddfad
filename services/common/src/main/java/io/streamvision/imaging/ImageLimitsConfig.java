package io.streamvision.imaging;

import io.smallrye.config.WithDefault;

/**
 * Image limits as a configuration group, shared by every service that decodes images
 * (nested under each service's prefix, e.g. {@code vision.scoring.images.*}).
 */
public interface ImageLimitsConfig {

    /**
     * Largest encoded image accepted, in bytes: 15 MiB, so that an image over it still fits a
     * 16 MiB Kafka record ({@link io.streamvision.kafka.TopicProvisioner#MAX_MESSAGE_BYTES}) and
     * reaches the service, which answers {@code TOO_LARGE}.
     */
    @WithDefault("15728640")
    int maxBytes();

    /** Widest image accepted, in pixels. */
    @WithDefault("8192")
    int maxWidth();

    /** Tallest image accepted, in pixels. */
    @WithDefault("8192")
    int maxHeight();

    /** Largest width × height accepted. */
    @WithDefault("40000000")
    long maxPixels();

    /** Grey level transparent pixels are composited over (the same as preprocess). */
    @WithDefault("0")
    int alphaBackground();

    /** A decoder with these limits. */
    default ImageDecoder decoder() {
        return new ImageDecoder(new ImageLimits(maxBytes(), maxWidth(), maxHeight(), maxPixels()), alphaBackground());
    }
}
