package io.streamvision.video;

import io.streamvision.imaging.ImageLimits;

/**
 * Caps on one video, checked from the container's metadata before decoding and again while
 * decoding.
 *
 * @param maxDurationSeconds longest video accepted
 * @param maxWidth widest frame accepted
 * @param maxHeight tallest frame accepted
 * @param maxSampledFrames most frames sampled from one video
 * @param maxInlineBytes largest video carried inside a request
 */
public record VideoLimits(
        double maxDurationSeconds, int maxWidth, int maxHeight, int maxSampledFrames, int maxInlineBytes) {

    /** One hour, 4096 × 2160, 10,000 sampled frames, 8 MB inline. */
    public static final VideoLimits DEFAULT = new VideoLimits(3600, 4096, 2160, 10_000, 8 * 1024 * 1024);

    /** The caps of one frame, as image limits. */
    public ImageLimits frameLimits() {
        return new ImageLimits(maxInlineBytes, maxWidth, maxHeight, (long) maxWidth * maxHeight);
    }
}
