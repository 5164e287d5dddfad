package io.streamvision.imaging;

/**
 * A decoded 8-bit image, interleaved, row-major: {@code channels} bytes (unsigned) per pixel, 1
 * (grey) or 3 (R, G, B). Immutable by convention: nothing writes to {@code pixels} after
 * construction.
 */
public record RgbImage(int width, int height, int channels, byte[] pixels) {

    /** Unsigned sample at (x, y, channel). */
    public int sample(int x, int y, int channel) {
        return pixels[(y * width + x) * channels + channel] & 0xFF;
    }

    /** This image in grey, with the ITU-R 601-2 luma weights PIL uses for {@code convert("L")}. */
    public RgbImage toGrey() {
        if (channels == 1) {
            return this;
        }
        byte[] grey = new byte[width * height];
        for (int i = 0, p = 0; i < grey.length; i++, p += 3) {
            int r = pixels[p] & 0xFF;
            int g = pixels[p + 1] & 0xFF;
            int b = pixels[p + 2] & 0xFF;
            grey[i] = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
        }
        return new RgbImage(width, height, 1, grey);
    }

    /** This image in RGB (grey replicated). */
    public RgbImage toRgb() {
        if (channels == 3) {
            return this;
        }
        byte[] rgb = new byte[width * height * 3];
        for (int i = 0, p = 0; i < pixels.length; i++, p += 3) {
            rgb[p] = pixels[i];
            rgb[p + 1] = pixels[i];
            rgb[p + 2] = pixels[i];
        }
        return new RgbImage(width, height, 3, rgb);
    }

    /** A rectangle of this image. */
    public RgbImage crop(int left, int top, int cropWidth, int cropHeight) {
        byte[] out = new byte[cropWidth * cropHeight * channels];
        int rowBytes = cropWidth * channels;
        for (int y = 0; y < cropHeight; y++) {
            System.arraycopy(pixels, ((top + y) * width + left) * channels, out, y * rowBytes, rowBytes);
        }
        return new RgbImage(cropWidth, cropHeight, channels, out);
    }
}
