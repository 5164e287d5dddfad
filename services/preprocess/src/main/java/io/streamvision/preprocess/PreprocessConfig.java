package io.streamvision.preprocess;

import java.util.List;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Settings of the preprocess service ({@code vision.preprocess.*}). */
@ConfigMapping(prefix = "vision.preprocess")
public interface PreprocessConfig {

    /** Model repository root ({@code <dir>/<model>/<version>/config.json}). */
    @WithDefault("models")
    String modelsDir();

    /** How often the model repository is re-read, in seconds. */
    @WithDefault("30")
    int modelsRefreshSeconds();

    /** Models an image goes to when its request names none: labels and the caption encoder. */
    @WithDefault("fashion-cnn,caption-encoder")
    List<String> defaultModels();

    /** Largest encoded image accepted, in bytes. */
    @WithDefault("20971520")
    int maxImageBytes();

    /** Widest image accepted, in pixels. */
    @WithDefault("8192")
    int maxImageWidth();

    /** Tallest image accepted, in pixels. */
    @WithDefault("8192")
    int maxImageHeight();

    /** Largest width × height accepted. */
    @WithDefault("40000000")
    long maxImagePixels();

    /** Grey level (0–255) that transparent pixels are composited over. */
    @WithDefault("0")
    int alphaBackground();

    /** Send UINT8 tensors to models whose config accepts them. */
    @WithDefault("true")
    boolean preferUint8();

    /** Video sampling limits ({@code vision.preprocess.video.*}). */
    Video video();

    /** Video sampling limits. */
    interface Video {
        /** Read vision.videos.v1 at all. */
        @WithDefault("true")
        boolean enabled();

        /** Models a video's frames go to when its request names none (frame classifiers). */
        @WithDefault("fashion-cnn")
        List<String> defaultModels();

        /** Longest video accepted, in seconds. */
        @WithDefault("3600")
        double maxDurationSeconds();

        /** Widest frame accepted, in pixels. */
        @WithDefault("4096")
        int maxWidth();

        /** Tallest frame accepted, in pixels. */
        @WithDefault("2160")
        int maxHeight();

        /** Most frames sampled from one video. */
        @WithDefault("10000")
        int maxSampledFrames();

        /** Largest video carried inline in a request, in bytes. */
        @WithDefault("8388608")
        int maxInlineBytes();
    }
}
