package io.streamvision.imaging;

import java.awt.color.ColorSpace;
import java.awt.Transparency;
import java.awt.color.ICC_ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.awt.image.ColorConvertOp;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import io.streamvision.proto.vision.v1.ReasonCode;

/**
 * Decodes encoded images to 8-bit grey or RGB pixels, as PIL decodes them. The format is sniffed from the bytes
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

    /** Recognises the format from magic bytes (kept for callers; see {@link ImageFormat#sniff}). */
    public static ImageFormat sniff(byte[] data) {
        return ImageFormat.sniff(data);
    }

    /** Decodes one image as PIL does (embedded colour profiles ignored). */
    public RgbImage decode(byte[] data) throws ImageRejectedException {
        return decode(data, ColourManagement.NONE);
    }

    /**
     * Decodes one image: the first frame of animated ones, the first page of multi-page TIFFs,
     * the composite of PSDs and the largest entry of ICO/CUR files (as PIL opens them).
     *
     * @param colours what to do with an embedded colour profile
     */
    public RgbImage decode(byte[] data, ColourManagement colours) throws ImageRejectedException {
        if (data == null || data.length == 0) {
            throw new ImageRejectedException(ReasonCode.BAD_REQUEST, "image is empty (0 bytes)");
        }
        if (data.length > limits.maxBytes()) {
            throw new ImageRejectedException(ReasonCode.TOO_LARGE,
                    "image is " + data.length + " bytes, over the limit of " + limits.maxBytes());
        }
        ImageFormat format = ImageFormat.sniff(data);
        if (format == ImageFormat.UNKNOWN) {
            throw new ImageRejectedException(ReasonCode.UNSUPPORTED_FORMAT,
                    "not a " + ImageFormat.SUPPORTED + " image (first bytes " + hex(data) + ")");
        }
        int[] declared = format.declaredSize(data);
        if (declared != null) {
            checkDimensions(declared[0], declared[1]);
        }
        byte[] input = colours == ColourManagement.NONE ? EmbeddedProfiles.strip(format, data) : data;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(input))) {
            ImageReader reader = reader(in, format);
            try {
                reader.setInput(in, format != ImageFormat.ICO, true);
                int index;
                int width;
                int height;
                try {
                    index = format == ImageFormat.ICO ? largestEntry(reader) : 0;
                    width = reader.getWidth(index);
                    height = reader.getHeight(index);
                } catch (IOException | RuntimeException e) {
                    ReasonCode reason = failureReason(format, data, e);
                    throw new ImageRejectedException(reason, format + " header cannot be read: " + e, e);
                }
                checkDimensions(width, height);
                ImageReadParam param = reader.getDefaultReadParam();
                List<String> warnings = new ArrayList<>();
                reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                BufferedImage image = reader.read(index, param);
                String all = String.join("; ", warnings);
                String lower = all.toLowerCase(Locale.ROOT);
                // Decoders fill data that is missing with grey and only warn. A file that really
                // ends early is refused; other warnings (extraneous bytes before a marker, a bad
                // Huffman code, CMYK without a profile) leave an image PIL and browsers show.
                if ((lower.contains("premature end") || lower.contains("truncat")) && !format.endsComplete(data)) {
                    throw new ImageRejectedException(ReasonCode.TRUNCATED, format + " data is truncated: " + all);
                }
                RgbImage pixels = toPixels(colours == ColourManagement.SRGB ? toSrgb(image) : image, colours);
                if (colours == ColourManagement.SRGB && format == ImageFormat.PNG && pixels.channels() == 3) {
                    // The JDK's PNG reader returns the stored samples and leaves iCCP unapplied.
                    Optional<ICC_Profile> profile = EmbeddedProfiles.png(data);
                    if (profile.isPresent()) {
                        pixels = toSrgb(pixels, profile.get());
                    }
                }
                return format == ImageFormat.JPEG ? ExifOrientation.apply(pixels, ExifOrientation.read(data)) : pixels;
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
     * The reader for a format: TwelveMonkeys' where it has one (the most lenient and complete),
     * then the JDK's, then any other (jai-imageio's JPEG 2000), so the choice does not depend on
     * class-path order.
     */
    private static ImageReader reader(ImageInputStream in, ImageFormat format) throws ImageRejectedException {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        ImageReader best = null;
        int bestRank = Integer.MAX_VALUE;
        while (readers.hasNext()) {
            ImageReader candidate = readers.next();
            String name = candidate.getClass().getName();
            int rank = name.startsWith("com.twelvemonkeys.") ? 0 : name.startsWith("com.sun.imageio.") ? 1 : 2;
            if (rank < bestRank) {
                if (best != null) {
                    best.dispose();
                }
                best = candidate;
                bestRank = rank;
            } else {
                candidate.dispose();
            }
        }
        if (best == null) {
            throw new ImageRejectedException(ReasonCode.CORRUPT_IMAGE, format
                    + " signature found, but no reader accepts the header");
        }
        return best;
    }

    /** The index of the largest image in an icon file: the one PIL opens. */
    private int largestEntry(ImageReader reader) throws IOException, ImageRejectedException {
        int count = reader.getNumImages(true);
        int best = 0;
        long bestArea = -1;
        for (int i = 0; i < count; i++) {
            long area = (long) reader.getWidth(i) * reader.getHeight(i);
            if (area > bestArea) {
                best = i;
                bestArea = area;
            }
        }
        return best;
    }

    /**
     * Why decoding failed: for formats with an end marker, its absence means TRUNCATED and its
     * presence CORRUPT_IMAGE; for the others, the decoder running out of data means TRUNCATED.
     */
    private static ReasonCode failureReason(ImageFormat format, byte[] data, Throwable e) {
        boolean truncated = format.hasEndMarker() ? !format.endsComplete(data) : endsEarly(e);
        return truncated ? ReasonCode.TRUNCATED : ReasonCode.CORRUPT_IMAGE;
    }

    /** True when a decoder failure comes from running out of data. */
    private static boolean endsEarly(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EOFException) {
                return true;
            }
            String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
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
        return new ImageDecoder(ImageLimits.DEFAULT, 0).toPixels(image, ColourManagement.NONE);
    }

    /**
     * The image converted from its embedded RGB profile to sRGB (LittleCMS through
     * {@link ColorConvertOp}); unchanged when it is already sRGB, grey, CMYK (whose readers
     * apply the profile themselves) or has no profile.
     */
    private static BufferedImage toSrgb(BufferedImage image) {
        ColorSpace space = image.getColorModel().getColorSpace();
        if (!(space instanceof ICC_ColorSpace) || space.isCS_sRGB() || space.getType() != ColorSpace.TYPE_RGB) {
            return image;
        }
        int type = image.getColorModel().hasAlpha() ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB;
        BufferedImage out = new BufferedImage(image.getWidth(), image.getHeight(), type);
        new ColorConvertOp(null).filter(image, out);
        return out;
    }

    /** RGB pixels in {@code profile} converted to sRGB; unchanged when the profile is not RGB or is sRGB. */
    private static RgbImage toSrgb(RgbImage pixels, ICC_Profile profile) {
        ColorSpace space = new ICC_ColorSpace(profile);
        if (space.getType() != ColorSpace.TYPE_RGB || space.isCS_sRGB()) {
            return pixels;
        }
        int w = pixels.width();
        int h = pixels.height();
        WritableRaster raster = Raster.createInterleavedRaster(new DataBufferByte(pixels.pixels(), pixels.pixels().length),
                w, h, w * 3, 3, new int[] {0, 1, 2}, null);
        ColorModel model = new ComponentColorModel(space, false, false, Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        new ColorConvertOp(null).filter(new BufferedImage(model, raster, false, null), out);
        return pixels(out);
    }

    /** Reads samples straight from the raster, so grey stays grey without a colour-space round trip. */
    private RgbImage toPixels(BufferedImage image, ColourManagement colours) {
        int w = image.getWidth();
        int h = image.getHeight();
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        int spaceType = cm.getColorSpace().getType();
        boolean indexed = cm instanceof IndexColorModel;
        if (!indexed && spaceType == ColorSpace.TYPE_CMYK && raster.getNumBands() >= 4
                && (colours == ColourManagement.NONE || !(cm.getColorSpace() instanceof ICC_ColorSpace))) {
            return cmykToRgb(raster, cm.getComponentSize(0));
        }
        boolean direct = !indexed && (spaceType == ColorSpace.TYPE_GRAY || spaceType == ColorSpace.TYPE_RGB)
                && raster.getNumBands() <= 4;
        if (direct && raster.getDataBuffer() instanceof DataBufferByte bytes
                && raster.getSampleModel() instanceof PixelInterleavedSampleModel model
                && raster.getSampleModelTranslateX() == 0 && raster.getSampleModelTranslateY() == 0
                && bytes.getNumBanks() == 1) {
            return interleavedBytes(bytes.getData(), model, w, h, spaceType == ColorSpace.TYPE_GRAY, cm.hasAlpha());
        }
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

    /** 8-bit interleaved samples (RGB, BGR, grey, with or without alpha) copied without per-pixel calls. */
    private RgbImage interleavedBytes(byte[] data, PixelInterleavedSampleModel model, int w, int h, boolean grey,
                                      boolean alpha) {
        int[] offsets = model.getBandOffsets();
        int stride = model.getPixelStride();
        int scan = model.getScanlineStride();
        int channels = grey ? 1 : 3;
        byte[] out = new byte[w * h * channels];
        int a = alpha ? offsets[offsets.length - 1] : -1;
        for (int y = 0, o = 0; y < h; y++) {
            int row = y * scan;
            for (int x = 0; x < w; x++) {
                int p = row + x * stride;
                int av = alpha ? data[p + a] & 0xFF : 255;
                for (int c = 0; c < channels; c++, o++) {
                    int v = data[p + offsets[c]] & 0xFF;
                    out[o] = (byte) (av == 255 ? v : blend(v, av));
                }
            }
        }
        return new RgbImage(w, h, channels, out);
    }

    /**
     * CMYK samples to RGB by PIL's formula, {@code R = (255 − K) − C·(255 − K)/255} with its
     * rounding, which is what {@code Image.convert("RGB")} gives for CMYK JPEGs and TIFFs.
     */
    private static RgbImage cmykToRgb(Raster raster, int bits) {
        int w = raster.getWidth();
        int h = raster.getHeight();
        int shift = Math.max(0, bits - 8);
        byte[] out = new byte[w * h * 3];
        int[] px = new int[raster.getNumBands()];
        for (int y = 0, o = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                raster.getPixel(raster.getMinX() + x, raster.getMinY() + y, px);
                int nk = 255 - (px[3] >> shift);
                for (int c = 0; c < 3; c++, o++) {
                    int t = (px[c] >> shift) * nk + 128;
                    int v = nk - (((t >> 8) + t) >> 8);
                    out[o] = (byte) Math.max(0, Math.min(255, v));
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
