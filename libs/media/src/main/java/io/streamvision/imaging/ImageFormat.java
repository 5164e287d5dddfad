package io.streamvision.imaging;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Image formats recognised from their first bytes, never from a file name or media type. Every
 * format here but two has an ImageIO reader on the class path (the JDK's, TwelveMonkeys' plugins,
 * or jai-imageio's JPEG 2000 reader); HEIF and AVIF are decoded with FFmpeg ({@link HeifDecoder}).
 */
public enum ImageFormat {
    JPEG,
    PNG,
    GIF,
    BMP,
    WEBP,
    TIFF,
    PNM,
    ICO,
    PSD,
    JPEG2000,
    TGA,
    SGI,
    PCX,
    IFF,
    /** HEIF with HEVC pictures (HEIC, as iPhones save photographs). */
    HEIF,
    /** AVIF: HEIF with AV1 pictures. */
    AVIF,
    UNKNOWN;

    /** The names a rejection message lists. */
    static final String SUPPORTED =
            "JPEG (and MPO), PNG, GIF, BMP, WebP, TIFF, PNM, ICO/CUR, PSD, JPEG 2000, TGA, SGI, PCX, IFF, HEIF/HEIC or"
                    + " AVIF";

    /** Recognises the format from magic bytes (TGA, which has none, from a consistent header). */
    public static ImageFormat sniff(byte[] d) {
        int n = d.length;
        if (n >= 3 && u(d, 0) == 0xFF && u(d, 1) == 0xD8 && u(d, 2) == 0xFF) {
            return JPEG;
        }
        if (n >= 8 && u(d, 0) == 0x89 && d[1] == 'P' && d[2] == 'N' && d[3] == 'G') {
            return PNG;
        }
        if (n >= 6 && d[0] == 'G' && d[1] == 'I' && d[2] == 'F' && d[3] == '8') {
            return GIF;
        }
        if (n >= 2 && d[0] == 'B' && (d[1] == 'M' || d[1] == 'A')) {
            return BMP;
        }
        if (n >= 12
                && d[0] == 'R'
                && d[1] == 'I'
                && d[2] == 'F'
                && d[3] == 'F'
                && d[8] == 'W'
                && d[9] == 'E'
                && d[10] == 'B'
                && d[11] == 'P') {
            return WEBP;
        }
        if (n >= 4
                && ((d[0] == 'I' && d[1] == 'I' && (d[2] == 42 || d[2] == 43) && d[3] == 0)
                        || (d[0] == 'M' && d[1] == 'M' && d[2] == 0 && (d[3] == 42 || d[3] == 43)))) {
            return TIFF;
        }
        if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' && Character.isWhitespace(d[2])) {
            return PNM;
        }
        if (n >= 6 && d[0] == 0 && d[1] == 0 && (d[2] == 1 || d[2] == 2) && d[3] == 0 && (d[4] != 0 || d[5] != 0)) {
            return ICO;
        }
        if (n >= 4 && d[0] == '8' && d[1] == 'B' && d[2] == 'P' && d[3] == 'S') {
            return PSD;
        }
        if ((n >= 12
                        && d[0] == 0
                        && d[1] == 0
                        && d[2] == 0
                        && d[3] == 0x0C
                        && d[4] == 'j'
                        && d[5] == 'P'
                        && d[6] == ' '
                        && d[7] == ' ')
                || (n >= 4 && u(d, 0) == 0xFF && u(d, 1) == 0x4F && u(d, 2) == 0xFF && u(d, 3) == 0x51)) {
            return JPEG2000;
        }
        if (n >= 2 && u(d, 0) == 0x01 && u(d, 1) == 0xDA) {
            return SGI;
        }
        if (n >= 128 && u(d, 0) == 0x0A && u(d, 1) <= 5 && u(d, 2) <= 1) {
            return PCX;
        }
        if (n >= 12
                && d[0] == 'F'
                && d[1] == 'O'
                && d[2] == 'R'
                && d[3] == 'M'
                && ((d[8] == 'I' && d[9] == 'L' && d[10] == 'B' && d[11] == 'M')
                        || (d[8] == 'P' && d[9] == 'B' && d[10] == 'M' && d[11] == ' '))) {
            return IFF;
        }
        ImageFormat isoMedia = isoMediaImage(d);
        if (isoMedia != null) {
            return isoMedia;
        }
        if (isTga(d)) {
            return TGA;
        }
        return UNKNOWN;
    }

    /**
     * HEIF or AVIF from an ISO BMFF {@code ftyp} box at the start whose major or compatible brands
     * name an image brand; null for anything else (an MP4 video is not an image).
     */
    private static ImageFormat isoMediaImage(byte[] d) {
        if (d.length < 16 || d[4] != 'f' || d[5] != 't' || d[6] != 'y' || d[7] != 'p') {
            return null;
        }
        long size = ((long) u(d, 0) << 24) | (u(d, 1) << 16) | (u(d, 2) << 8) | u(d, 3);
        // The box's own brands only (at most 64 of them): never the media data after it.
        if (size < 16 || size > 8 + 8 + 4 * 64) {
            return null;
        }
        int end = (int) Math.min(d.length, size);
        boolean heif = false;
        boolean avif = false;
        for (int at = 8; at + 4 <= end; at += at == 8 ? 8 : 4) {
            String brand = new String(d, at, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            switch (brand) {
                case "avif", "avis" -> avif = true;
                case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1" -> heif = true;
                default -> {}
            }
        }
        return avif ? AVIF : heif ? HEIF : null;
    }

    /**
     * Width and height as the file's own header states them, read straight from the bytes for
     * formats whose header is at a fixed place (PNG, GIF, BMP), so a bomb is refused before a
     * reader is even created; null for the others, whose readers report the size before decoding.
     */
    int[] declaredSize(byte[] d) {
        ByteBuffer b = ByteBuffer.wrap(d);
        switch (this) {
            case PNG:
                return d.length >= 24 ? new int[] {b.getInt(16), b.getInt(20)} : null;
            case GIF:
                b.order(ByteOrder.LITTLE_ENDIAN);
                return d.length >= 10 ? new int[] {b.getShort(6) & 0xFFFF, b.getShort(8) & 0xFFFF} : null;
            case BMP:
                b.order(ByteOrder.LITTLE_ENDIAN);
                return d.length >= 26 && d[1] == 'M' && b.getInt(14) >= 40
                        ? new int[] {Math.abs(b.getInt(18)), Math.abs(b.getInt(22))}
                        : null;
            default:
                return null;
        }
    }

    /** Whether the format ends with a marker whose absence means the file was cut short. */
    boolean hasEndMarker() {
        return this == JPEG || this == PNG || this == GIF || this == WEBP;
    }

    /** Whether the data ends the way a complete file of this format does. */
    boolean endsComplete(byte[] d) {
        int n = d.length;
        return switch (this) {
            case JPEG -> n >= 4 && u(d, n - 2) == 0xFF && u(d, n - 1) == 0xD9;
            case PNG -> n >= 12 && d[n - 8] == 'I' && d[n - 7] == 'E' && d[n - 6] == 'N' && d[n - 5] == 'D';
            case GIF -> n >= 14 && d[n - 1] == 0x3B;
            case WEBP ->
                n >= 12
                        && (ByteBuffer.wrap(d, 4, 4)
                                                .order(ByteOrder.LITTLE_ENDIAN)
                                                .getInt()
                                        + 8L)
                                <= n;
            default -> true;
        };
    }

    /**
     * TGA has no signature: accept a header whose colour-map type, image type, colour-map entry
     * size and pixel depth are all values the format defines, with a non-zero size.
     */
    private static boolean isTga(byte[] d) {
        if (d.length < 18) {
            return false;
        }
        int mapType = u(d, 1);
        int type = u(d, 2);
        int mapEntryBits = u(d, 7);
        int width = u(d, 12) | u(d, 13) << 8;
        int height = u(d, 14) | u(d, 15) << 8;
        int depth = u(d, 16);
        boolean typeOk = type == 1 || type == 2 || type == 3 || type == 9 || type == 10 || type == 11;
        boolean mapOk = mapType == 0
                ? (type != 1 && type != 9)
                : mapType == 1
                        && (mapEntryBits == 15 || mapEntryBits == 16 || mapEntryBits == 24 || mapEntryBits == 32);
        boolean depthOk = depth == 8 || depth == 15 || depth == 16 || depth == 24 || depth == 32;
        return typeOk && mapOk && depthOk && width > 0 && height > 0 && (u(d, 17) & 0xC0) == 0;
    }

    private static int u(byte[] d, int i) {
        return d[i] & 0xFF;
    }
}
