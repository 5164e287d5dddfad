package io.streamvision.imaging;

import io.streamvision.proto.vision.v1.ReasonCode;

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

    /**
     * Rejects a picture of {@code width} × {@code height} that is over a limit, with
     * DIMENSIONS_EXCEEDED and a message that starts with {@code what} ("image is", "video frames
     * are").
     */
    public void checkDimensions(String what, int width, int height) throws ImageRejectedException {
        if (width > maxWidth || height > maxHeight || (long) width * height > maxPixels) {
            throw new ImageRejectedException(
                    ReasonCode.DIMENSIONS_EXCEEDED,
                    what + " " + width + "x" + height + ", over the limit of " + maxWidth + "x" + maxHeight + " and "
                            + maxPixels + " pixels");
        }
    }
}
