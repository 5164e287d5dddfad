package io.streamvision.imaging;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.color.ColorSpace;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import io.streamvision.proto.vision.v1.ReasonCode;

/**
 * Decodes encoded images to 8-bit grey or RGB pixels. The format is sniffed from the bytes,
 * never taken from a file name or media type; the dimensions are read from the header and
 * checked against {@link ImageLimits} before any pixel buffer is allocated, which is what
 * stops decompression bombs. Transparent pixels are composited over a stated background.
 *
 * <p>Thread-safe: each call uses its own ImageIO reader.
 */
public final class ImageDecoder {

    static {
        ImageIO.setUseCache(false);
        ImageIO.scanForPlugins();
    }

    private final ImageLimits limits;
    private final int background;

    /**
     * @param limits caps on bytes and dimensions
     * @param background grey level (0–255) that transparent pixels are composited over
     */
    public ImageDecoder(ImageLimits limits, int background) {
        this.limits = limits;
        this.background = background;
    }

    /** Image formats recognised from their first bytes. */
    public enum Format { JPEG, PNG, GIF, BMP, WEBP, UNKNOWN }

    /** Recognises the format from magic bytes. */
    public static Format sniff(byte[] data) {
        if (data.length >= 3 && (data[0] & 0xFF) == 0xFF && (data[1] & 0xFF) == 0xD8 && (data[2] & 0xFF) == 0xFF) {
            return Format.JPEG;
        }
        if (data.length >= 8 && (data[0] & 0xFF) == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G') {
            return Format.PNG;
        }
        if (data.length >= 6 && data[0] == 'G' && data[1] == 'I' && data[2] == 'F' && data[3] == '8') {
            return Format.GIF;
        }
        if (data.length >= 2 && data[0] == 'B' && data[1] == 'M') {
            return Format.BMP;
        }
        if (data.length >= 12 && data[0] == 'R' && data[1] == 'I' && data[2] == 'F' && data[3] == 'F'
                && data[8] == 'W' && data[9] == 'E' && data[10] == 'B' && data[11] == 'P') {
            return Format.WEBP;
        }
        return Format.UNKNOWN;
    }

    /** Decodes one image (the first frame of animated ones). */
    public RgbImage decode(byte[] data) throws ImageRejectedException {
        if (data == null || data.length == 0) {
            throw new ImageRejectedException(ReasonCode.BAD_REQUEST, "image is empty (0 bytes)");
        }
        if (data.length > limits.maxBytes()) {
            throw new ImageRejectedException(ReasonCode.TOO_LARGE,
                    "image is " + data.length + " bytes, over the limit of " + limits.maxBytes());
        }
        Format format = sniff(data);
        if (format == Format.UNKNOWN) {
            throw new ImageRejectedException(ReasonCode.UNSUPPORTED_FORMAT,
                    "not a JPEG, PNG, GIF, BMP or WebP image (first bytes " + hex(data) + ")");
        }
        int[] declared = declaredSize(format, data);
        if (declared != null) {
            checkDimensions(declared[0], declared[1]);
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(data))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new ImageRejectedException(ReasonCode.UNSUPPORTED_FORMAT,
                        format + " images cannot be decoded by this build");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int width;
                int height;
                try {
                    width = reader.getWidth(0);
                    height = reader.getHeight(0);
                } catch (IOException | RuntimeException e) {
                    ReasonCode reason = failureReason(format, data, e);
                    throw new ImageRejectedException(reason, format + " header cannot be read: " + e, e);
                }
                checkDimensions(width, height);
                ImageReadParam param = reader.getDefaultReadParam();
                List<String> warnings = new ArrayList<>();
                reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                BufferedImage image = reader.read(0, param);
                String all = String.join("; ", warnings);
                String lower = all.toLowerCase(java.util.Locale.ROOT);
                // The JPEG decoder fills missing or broken data with grey and only warns: reject
                // those. Other warnings (e.g. CMYK without an ICC profile) leave usable pixels.
                if (lower.contains("premature end") || lower.contains("truncat")) {
                    throw new ImageRejectedException(ReasonCode.TRUNCATED, format + " data is truncated: " + all);
                }
                if (lower.contains("corrupt")) {
                    throw new ImageRejectedException(ReasonCode.CORRUPT_IMAGE, format + " data is corrupt: " + all);
                }
                RgbImage pixels = toPixels(image);
                return format == Format.JPEG ? ExifOrientation.apply(pixels, ExifOrientation.read(data)) : pixels;
            } finally {
                reader.dispose();
            }
        } catch (ImageRejectedException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            ReasonCode reason = failureReason(format, data, e);
            throw new ImageRejectedException(reason, format + " data cannot be decoded ("
                    + (reason == ReasonCode.TRUNCATED ? "it ends early" : "corrupt") + "): " + e, e);
        }
    }

    /**
     * Width and height as the file's own header states them, read straight from the bytes
     * for formats whose header is at a fixed place (PNG, GIF, BMP); null for the others, whose
     * readers report the size before decoding.
     */
    static int[] declaredSize(Format format, byte[] d) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(d);
        switch (format) {
            case PNG:
                return d.length >= 24 ? new int[] {b.getInt(16), b.getInt(20)} : null;
            case GIF:
                b.order(java.nio.ByteOrder.LITTLE_ENDIAN);
                return d.length >= 10 ? new int[] {b.getShort(6) & 0xFFFF, b.getShort(8) & 0xFFFF} : null;
            case BMP:
                b.order(java.nio.ByteOrder.LITTLE_ENDIAN);
                return d.length >= 26 && b.getInt(14) >= 40 ? new int[] {Math.abs(b.getInt(18)), Math.abs(b.getInt(22))}
                        : null;
            default:
                return null;
        }
    }

    /**
     * Why decoding failed: for formats with an end marker, its absence means TRUNCATED and its
     * presence CORRUPT_IMAGE; for the others, the decoder running out of data means TRUNCATED.
     */
    private static ReasonCode failureReason(Format format, byte[] data, Throwable e) {
        boolean marked = format == Format.JPEG || format == Format.PNG || format == Format.GIF || format == Format.WEBP;
        boolean truncated = marked ? !hasEndMarker(format, data) : endsEarly(e);
        return truncated ? ReasonCode.TRUNCATED : ReasonCode.CORRUPT_IMAGE;
    }

    /** Whether the data ends the way a complete file of its format does. */
    static boolean hasEndMarker(Format format, byte[] d) {
        int n = d.length;
        return switch (format) {
            case JPEG -> n >= 4 && (d[n - 2] & 0xFF) == 0xFF && (d[n - 1] & 0xFF) == 0xD9;
            case PNG -> n >= 12 && d[n - 8] == 'I' && d[n - 7] == 'E' && d[n - 6] == 'N' && d[n - 5] == 'D';
            case GIF -> n >= 14 && d[n - 1] == 0x3B;
            case WEBP -> n >= 12 && (java.nio.ByteBuffer.wrap(d, 4, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt()
                    + 8L) <= n;
            default -> true;
        };
    }

    /** True when a decoder failure comes from running out of data. */
    private static boolean endsEarly(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EOFException) {
                return true;
            }
            String m = String.valueOf(t.getMessage()).toLowerCase();
            if (m.contains("end of") || m.contains("eof") || m.contains("premature") || m.contains("truncat")
                    || m.contains("unexpected end")) {
                return true;
            }
        }
        return false;
    }

    private void checkDimensions(int width, int height) throws ImageRejectedException {
        if (width <= 0 || height <= 0) {
            throw new ImageRejectedException(ReasonCode.CORRUPT_IMAGE, "image header gives " + width + "x" + height);
        }
        if (width > limits.maxWidth() || height > limits.maxHeight() || (long) width * height > limits.maxPixels()) {
            throw new ImageRejectedException(ReasonCode.DIMENSIONS_EXCEEDED, "image is " + width + "x" + height
                    + ", over the limit of " + limits.maxWidth() + "x" + limits.maxHeight() + " and "
                    + limits.maxPixels() + " pixels");
        }
    }

    /** Pixels of an already decoded image (e.g. a video frame), no alpha expected. */
    public static RgbImage pixels(BufferedImage image) {
        return new ImageDecoder(ImageLimits.DEFAULT, 0).toPixels(image);
    }

    /** Reads samples straight from the raster, so grey stays grey without a colour-space round trip. */
    private RgbImage toPixels(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        int spaceType = cm.getColorSpace().getType();
        boolean direct = !(cm instanceof IndexColorModel)
                && (spaceType == ColorSpace.TYPE_GRAY || spaceType == ColorSpace.TYPE_RGB)
                && raster.getNumBands() <= 4;
        if (direct && spaceType == ColorSpace.TYPE_GRAY) {
            int shift = Math.max(0, cm.getComponentSize(0) - 8);
            boolean alpha = cm.hasAlpha();
            int alphaShift = alpha ? Math.max(0, cm.getComponentSize(raster.getNumBands() - 1) - 8) : 0;
            byte[] out = new byte[w * h];
            int[] grey = new int[w];
            int[] a = alpha ? new int[w] : null;
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, grey);
                if (alpha) {
                    raster.getSamples(0, y, w, 1, raster.getNumBands() - 1, a);
                }
                for (int x = 0; x < w; x++) {
                    int v = grey[x] >> shift;
                    out[y * w + x] = (byte) (alpha ? blend(v, a[x] >> alphaShift) : v);
                }
            }
            return new RgbImage(w, h, 1, out);
        }
        byte[] out = new byte[w * h * 3];
        if (direct) {
            int shift = Math.max(0, cm.getComponentSize(0) - 8);
            boolean alpha = cm.hasAlpha();
            int[] px = new int[raster.getNumBands()];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    raster.getPixel(x, y, px);
                    int o = (y * w + x) * 3;
                    int av = alpha ? px[3] >> shift : 255;
                    for (int c = 0; c < 3; c++) {
                        int v = px[c] >> shift;
                        out[o + c] = (byte) (alpha ? blend(v, av) : v);
                    }
                }
            }
        } else {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                image.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int argb = row[x];
                    int av = argb >>> 24;
                    int o = (y * w + x) * 3;
                    out[o] = (byte) blend((argb >> 16) & 0xFF, av);
                    out[o + 1] = (byte) blend((argb >> 8) & 0xFF, av);
                    out[o + 2] = (byte) blend(argb & 0xFF, av);
                }
            }
        }
        return new RgbImage(w, h, 3, out);
    }

    private int blend(int value, int alpha) {
        return (value * alpha + background * (255 - alpha) + 127) / 255;
    }

    private static String hex(byte[] data) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(8, data.length); i++) {
            sb.append(String.format("%02x", data[i] & 0xFF));
        }
        return sb.toString();
    }
}
