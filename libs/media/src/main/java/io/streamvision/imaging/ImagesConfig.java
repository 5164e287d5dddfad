package io.streamvision.imaging;

import io.smallrye.config.WithDefault;

/**
 * How a service takes images: limits, the alpha background and the tensor type. The same keys under
 * every service that decodes images ({@code vision.preprocess.images.*}, {@code
 * vision.scoring.images.*}, {@code vision.captioning.images.*}).
 */
public interface ImagesConfig {

    /**
     * Largest encoded image accepted, in bytes: 15 MiB, so that an image over it still fits a 16
     * MiB Kafka record ({@link io.streamvision.kafka.TopicProvisioner#MAX_MESSAGE_BYTES}) and
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

    /** Grey level (0–255) that transparent pixels are composited over. */
    @WithDefault("0")
    int alphaBackground();

    /**
     * Send UINT8 pixels to models whose input accepts them (normalisation then happens in the
     * scoring service), a quarter of the bytes of FP32.
     */
    @WithDefault("true")
    boolean preferUint8();

    /** A decoder with these limits. */
    default ImageDecoder decoder() {
        return new ImageDecoder(new ImageLimits(maxBytes(), maxWidth(), maxHeight(), maxPixels()), alphaBackground());
    }
}
