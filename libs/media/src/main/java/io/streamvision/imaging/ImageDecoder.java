package io.streamvision.imaging;

import io.streamvision.proto.vision.v1.ReasonCode;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
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
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * Decodes encoded images to 8-bit grey or RGB pixels, as PIL decodes them. The format is sniffed
 * from the bytes never taken from a file name or media type; the dimensions are read from the
 * header and checked against {@link ImageLimits} before any pixel buffer is allocated, which is
 * what stops decompression bombs. Transparent pixels are composited over a stated background.
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

    /** Decodes one image as PIL does (embedded colour profiles ignored). */
    public RgbImage decode(byte[] data) throws ImageRejectedException {
        return decode(data, ColourManagement.NONE);
    }

    /**
     * Decodes one image: the first frame of animated ones, the first page of multi-page TIFFs, the
     * composite of PSDs and the largest entry of ICO/CUR files (as PIL opens them).
     *
     * @param colours what to do with an embedded colour profile
     */
    public RgbImage decode(byte[] data, ColourManagement colours) throws ImageRejectedException {
        if (data == null || data.length == 0) {
            throw new ImageRejectedException(ReasonCode.BAD_REQUEST, "image is empty (0 bytes)");
        }
        if (data.length > limits.maxBytes()) {
            throw new ImageRejectedException(
                    ReasonCode.TOO_LARGE, "image is " + data.length + " bytes, over the limit of " + limits.maxBytes());
        }
        ImageFormat format = ImageFormat.sniff(data);
        if (format == ImageFormat.UNKNOWN) {
            throw new ImageRejectedException(
                    ReasonCode.UNSUPPORTED_FORMAT,
                    "not a " + ImageFormat.SUPPORTED + " image (first bytes " + hex(data) + ")");
        }
        int[] declared = format.declaredSize(data);
        if (declared != null) {
            checkDimensions(declared[0], declared[1]);
        }
        if (format == ImageFormat.HEIF || format == ImageFormat.AVIF) {
            return HeifDecoder.decode(data, format, limits);
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
                    index = format == ImageFormat.ICO ? largestEntry(reader, data) : 0;
                    width = reader.getWidth(index);
                    height = reader.getHeight(index);
                } catch (IOException | RuntimeException e) {
                    ReasonCode reason = failureReason(format, data, e);
                    throw new ImageRejectedException(reason, format + " header cannot be read: " + e, e);
                }
                checkDimensions(width, height);
                ImageReadParam param = reader.getDefaultReadParam();
                if (format == ImageFormat.JPEG) {
                    rgbDestination(reader, index, width, height).ifPresent(param::setDestination);
                }
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
                boolean premultiplied = image.isAlphaPremultiplied()
                        || (format == ImageFormat.TIFF
                                && image.getColorModel().hasAlpha()
                                && associatedAlpha(reader, index));
                RgbImage pixels =
                        toPixels(colours == ColourManagement.SRGB ? toSrgb(image) : image, colours, premultiplied);
                if (format == ImageFormat.GIF) {
                    pixels = onLogicalScreen(pixels, image, reader, index, declared);
                }
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
        } catch (IOException | RuntimeException | ThreadDeath e) {
            // jai-imageio's JPEG 2000 reader signals a damaged codestream with ThreadDeath.
            ReasonCode reason = failureReason(format, data, e);
            throw new ImageRejectedException(
                    reason,
                    format
                            + " data cannot be decoded ("
                            + (reason == ReasonCode.TRUNCATED ? "it ends early" : "corrupt")
                            + "): "
                            + e,
                    e);
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
            throw new ImageRejectedException(
                    ReasonCode.CORRUPT_IMAGE, format + " signature found, but no reader accepts the header");
        }
        return best;
    }

    /**
     * For a JPEG the reader decodes to sRGB: an image whose bytes are R, G, B in the order {@link
     * RgbImage} keeps them, so the decoded pixels are used without another copy.
     */
    private static Optional<BufferedImage> rgbDestination(ImageReader reader, int index, int width, int height)
            throws IOException {
        Iterator<ImageTypeSpecifier> types = reader.getImageTypes(index);
        if (!types.hasNext()) {
            return Optional.empty();
        }
        ColorModel first = types.next().getColorModel();
        if (!first.getColorSpace().isCS_sRGB() || first.getNumComponents() != 3 || first.hasAlpha()) {
            return Optional.empty();
        }
        ColorModel model = new ComponentColorModel(
                ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
        WritableRaster raster = Raster.createInterleavedRaster(
                DataBuffer.TYPE_BYTE, width, height, width * 3, 3, new int[] {0, 1, 2}, null);
        return Optional.of(new BufferedImage(model, raster, false, null));
    }

    /**
     * The index of the entry PIL opens in an icon file: the largest, and among entries of that size
     * the one with the most bits per pixel (from the directory; a 0 count is derived from the
     * palette size, or 256 without one, as PIL does).
     */
    private static int largestEntry(ImageReader reader, byte[] d) throws IOException {
        int count = reader.getNumImages(true);
        int best = 0;
        long bestArea = -1;
        int bestBits = -1;
        for (int i = 0; i < count; i++) {
            long area = (long) reader.getWidth(i) * reader.getHeight(i);
            int entry = 6 + 16 * i;
            int bits = 256;
            if (entry + 16 <= d.length) {
                int declared = (d[entry + 6] & 0xFF) | (d[entry + 7] & 0xFF) << 8;
                int colours = d[entry + 2] & 0xFF;
                bits = declared != 0 ? declared : colours > 1 ? 32 - Integer.numberOfLeadingZeros(colours - 1) : 256;
            }
            // PIL sorts by depth, then size, and takes the last: ties go to the later entry.
            if (area > bestArea || (area == bestArea && bits >= bestBits)) {
                best = i;
                bestArea = area;
                bestBits = bits;
            }
        }
        return best;
    }

    /**
     * A GIF frame placed on its logical screen, as PIL opens it: a first frame smaller than the
     * screen or offset into it is surrounded by palette entry 0 (the transparent entry, which
     * becomes the background, when the frame has one).
     */
    private RgbImage onLogicalScreen(RgbImage frame, BufferedImage image, ImageReader reader, int index, int[] screen)
            throws IOException {
        int left = 0;
        int top = 0;
        IIOMetadata metadata = reader.getImageMetadata(index);
        if (metadata != null && metadata.isStandardMetadataFormatSupported()) {
            Node tree = metadata.getAsTree("javax_imageio_gif_image_1.0");
            for (Node n = tree.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n.getNodeName().equals("ImageDescriptor")) {
                    left = Integer.parseInt(((Element) n).getAttribute("imageLeftPosition"));
                    top = Integer.parseInt(((Element) n).getAttribute("imageTopPosition"));
                }
            }
        }
        if (screen == null || (left == 0 && top == 0 && frame.width() == screen[0] && frame.height() == screen[1])) {
            return frame;
        }
        int w = screen[0];
        int h = screen[1];
        RgbImage rgb = frame.toRgb();
        int fill = 0;
        if (image.getColorModel() instanceof IndexColorModel palette) {
            int argb = palette.getRGB(palette.getTransparentPixel() >= 0 ? palette.getTransparentPixel() : 0);
            int a = argb >>> 24;
            fill = blend((argb >> 16) & 0xFF, a) << 16 | blend((argb >> 8) & 0xFF, a) << 8 | blend(argb & 0xFF, a);
        }
        byte[] out = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) {
            out[i * 3] = (byte) (fill >> 16);
            out[i * 3 + 1] = (byte) (fill >> 8);
            out[i * 3 + 2] = (byte) fill;
        }
        int copyWidth = Math.min(rgb.width(), w - left);
        for (int y = 0; y < rgb.height() && top + y < h; y++) {
            if (copyWidth > 0) {
                System.arraycopy(rgb.pixels(), y * rgb.width() * 3, out, ((top + y) * w + left) * 3, copyWidth * 3);
            }
        }
        return new RgbImage(w, h, 3, out);
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
            if (m.contains("end of")
                    || m.contains("eof")
                    || m.contains("premature")
                    || m.contains("truncat")
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
        limits.checkDimensions("image is", width, height);
    }

    /** Pixels of an already decoded image (e.g. a video frame), no alpha expected. */
    public static RgbImage pixels(BufferedImage image) {
        return new ImageDecoder(ImageLimits.DEFAULT, 0).toPixels(image, ColourManagement.NONE, false);
    }

    /**
     * Whether a TIFF's extra sample is associated (premultiplied) alpha, ExtraSamples = 1, which
     * the reader does not mark on the image it returns.
     */
    private static boolean associatedAlpha(ImageReader reader, int index) {
        try {
            IIOMetadata metadata = reader.getImageMetadata(index);
            String format = metadata == null ? null : metadata.getNativeMetadataFormatName();
            return format != null && extraSamples(metadata.getAsTree(format)) == 1;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The first value of TIFF field 338 (ExtraSamples) in a native metadata tree, or -1. */
    private static int extraSamples(Node node) {
        if (node instanceof Element e
                && "TIFFField".equals(e.getNodeName())
                && "338".equals(e.getAttribute("number"))) {
            for (Node n = e.getFirstChild(); n != null; n = n.getFirstChild()) {
                if (n instanceof Element v && v.hasAttribute("value")) {
                    return Integer.parseInt(v.getAttribute("value"));
                }
            }
            return -1;
        }
        for (Node n = node.getFirstChild(); n != null; n = n.getNextSibling()) {
            int found = extraSamples(n);
            if (found >= 0) {
                return found;
            }
        }
        return -1;
    }

    /**
     * The image converted from its embedded RGB profile to sRGB (LittleCMS through {@link
     * ColorConvertOp}); unchanged when it is already sRGB, grey, CMYK (whose readers apply the
     * profile themselves) or has no profile.
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

    /**
     * RGB pixels in {@code profile} converted to sRGB; unchanged when the profile is not RGB or is
     * sRGB.
     */
    private static RgbImage toSrgb(RgbImage pixels, ICC_Profile profile) {
        ColorSpace space = new ICC_ColorSpace(profile);
        if (space.getType() != ColorSpace.TYPE_RGB || space.isCS_sRGB()) {
            return pixels;
        }
        int w = pixels.width();
        int h = pixels.height();
        WritableRaster raster = Raster.createInterleavedRaster(
                new DataBufferByte(pixels.pixels(), pixels.pixels().length), w, h, w * 3, 3, new int[] {0, 1, 2}, null);
        ColorModel model = new ComponentColorModel(space, false, false, Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        new ColorConvertOp(null).filter(new BufferedImage(model, raster, false, null), out);
        return pixels(out);
    }

    /**
     * Reads samples straight from the raster, so grey stays grey without a colour-space round trip.
     */
    private RgbImage toPixels(BufferedImage image, ColourManagement colours, boolean premultiplied) {
        int w = image.getWidth();
        int h = image.getHeight();
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        int spaceType = cm.getColorSpace().getType();
        boolean indexed = cm instanceof IndexColorModel;
        if (!indexed
                && spaceType == ColorSpace.TYPE_CMYK
                && raster.getNumBands() >= 4
                && (colours == ColourManagement.NONE || !(cm.getColorSpace() instanceof ICC_ColorSpace))) {
            return cmykToRgb(raster, cm.getComponentSize(0));
        }
        boolean direct = !indexed
                && (spaceType == ColorSpace.TYPE_GRAY || spaceType == ColorSpace.TYPE_RGB)
                && raster.getNumBands() <= 4;
        if (direct
                && raster.getDataBuffer() instanceof DataBufferByte bytes
                && raster.getSampleModel() instanceof PixelInterleavedSampleModel model
                && raster.getSampleModelTranslateX() == 0
                && raster.getSampleModelTranslateY() == 0
                && bytes.getNumBanks() == 1) {
            return interleavedBytes(
                    bytes.getData(), model, w, h, spaceType == ColorSpace.TYPE_GRAY, cm.hasAlpha(), premultiplied);
        }
        if (direct && spaceType == ColorSpace.TYPE_GRAY) {
            int bits = cm.getComponentSize(0);
            boolean alpha = cm.hasAlpha();
            int alphaBits = alpha ? cm.getComponentSize(raster.getNumBands() - 1) : 8;
            byte[] out = new byte[w * h];
            int[] grey = new int[w];
            int[] a = alpha ? new int[w] : null;
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, grey);
                if (alpha) {
                    raster.getSamples(0, y, w, 1, raster.getNumBands() - 1, a);
                }
                for (int x = 0; x < w; x++) {
                    int v = to8(grey[x], bits);
                    out[y * w + x] = (byte) (alpha ? blend(v, to8(a[x], alphaBits)) : v);
                }
            }
            return new RgbImage(w, h, 1, out);
        }
        byte[] out = new byte[w * h * 3];
        if (direct) {
            int[] bits = cm.getComponentSize();
            boolean alpha = cm.hasAlpha();
            int[] px = new int[raster.getNumBands()];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    raster.getPixel(x, y, px);
                    int o = (y * w + x) * 3;
                    int av = alpha ? to8(px[3], bits[3]) : 255;
                    for (int c = 0; c < 3; c++) {
                        int v = to8(px[c], bits[c]);
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

    /**
     * 8-bit interleaved samples (RGB, BGR, grey, with or without alpha) copied without per-pixel
     * calls.
     */
    private RgbImage interleavedBytes(
            byte[] data,
            PixelInterleavedSampleModel model,
            int w,
            int h,
            boolean grey,
            boolean alpha,
            boolean premultiplied) {
        int[] offsets = model.getBandOffsets();
        int stride = model.getPixelStride();
        int scan = model.getScanlineStride();
        int channels = grey ? 1 : 3;
        if (!alpha
                && !grey
                && stride == 3
                && scan == 3 * w
                && offsets[0] == 0
                && offsets[1] == 1
                && offsets[2] == 2
                && data.length == 3 * w * h) {
            return new RgbImage(w, h, 3, data); // already in RgbImage's layout (see rgbDestination)
        }
        byte[] out = new byte[w * h * channels];
        if (!alpha && grey && stride == 1) {
            for (int y = 0; y < h; y++) {
                System.arraycopy(data, y * scan + offsets[0], out, y * w, w);
            }
            return new RgbImage(w, h, 1, out);
        }
        if (!alpha && !grey && stride == 3) {
            // The common case (decoded JPEGs: B, G, R or R, G, B), one tight loop per row.
            int r = offsets[0];
            int g = offsets[1];
            int b = offsets[2];
            for (int y = 0, o = 0; y < h; y++) {
                for (int p = y * scan, end = p + 3 * w; p < end; p += 3, o += 3) {
                    out[o] = data[p + r];
                    out[o + 1] = data[p + g];
                    out[o + 2] = data[p + b];
                }
            }
            return new RgbImage(w, h, 3, out);
        }
        int a = alpha ? offsets[offsets.length - 1] : -1;
        for (int y = 0, o = 0; y < h; y++) {
            int row = y * scan;
            for (int x = 0; x < w; x++) {
                int p = row + x * stride;
                int av = alpha ? data[p + a] & 0xFF : 255;
                for (int c = 0; c < channels; c++, o++) {
                    int v = data[p + offsets[c]] & 0xFF;
                    out[o] = (byte) (av == 255 ? v : premultiplied ? over(v, av) : blend(v, av));
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

    /**
     * A sample of {@code bits} bits as 8 bits, as PIL unpacks them: the high byte of wider samples,
     * {@code v · 255 / (2^bits − 1)} (truncated) for narrower ones (5/6-bit RGB).
     */
    private static int to8(int v, int bits) {
        if (bits > 8) {
            return v >> (bits - 8);
        }
        return bits == 8 ? v : v * 255 / ((1 << bits) - 1);
    }

    /** A premultiplied sample composited over the background. */
    private int over(int premultipliedValue, int alpha) {
        return Math.min(255, premultipliedValue + (background * (255 - alpha) + 127) / 255);
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
