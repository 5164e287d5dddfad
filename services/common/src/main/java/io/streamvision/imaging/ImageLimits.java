package io.streamvision.imaging;

/**
 * Caps checked before any pixel memory is allocated.
 *
 * @param maxBytes largest encoded image accepted
 * @param maxWidth widest image accepted, in pixels
 * @param maxHeight tallest image accepted, in pixels
 * @param maxPixels largest width × height accepted
 */
public record ImageLimits(int maxBytes, int maxWidth, int maxHeight, long maxPixels) {

    /** 15 MiB, 8192 × 8192, 40 megapixels (the services' defaults). */
    public static final ImageLimits DEFAULT = new ImageLimits(15 * 1024 * 1024, 8192, 8192, 40_000_000L);
}
