package io.streamvision.imaging;

import java.awt.color.ICC_Profile;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Embedded ICC profiles in encoded data: removes them from JPEG and WebP, whose ImageIO readers
 * would otherwise convert pixels to sRGB on their own (everything else in the file is kept byte for
 * byte, so the decoded samples are exactly the stored ones), and reads a PNG's, which the JDK's
 * reader leaves unapplied. Stateless, thread-safe.
 */
final class EmbeddedProfiles {

    private static final byte[] ICC_ID = "ICC_PROFILE\0".getBytes(StandardCharsets.US_ASCII);

    /** Larger profiles are not real ones: a guard against a compressed bomb in iCCP. */
    private static final int MAX_PROFILE_BYTES = 4 << 20;

    private EmbeddedProfiles() {}

    /** The data without its ICC profile, or the same array when it has none (or is malformed). */
    static byte[] strip(ImageFormat format, byte[] data) {
        return switch (format) {
            case JPEG -> stripJpeg(data);
            case WEBP -> stripWebp(data);
            default -> data;
        };
    }

    /** Drops APP2 "ICC_PROFILE" segments before the first scan. */
    private static byte[] stripJpeg(byte[] d) {
        int p = 2;
        ByteArrayOutputStream out = null;
        int copied = 0;
        while (p + 4 <= d.length && (d[p] & 0xFF) == 0xFF) {
            int marker = d[p + 1] & 0xFF;
            if (marker == 0xFF) {
                p++;
                continue;
            }
            if (marker == 0xDA || marker == 0xD9 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
                break;
            }
            int length = ((d[p + 2] & 0xFF) << 8) | (d[p + 3] & 0xFF);
            if (length < 2 || p + 2 + length > d.length) {
                break;
            }
            if (marker == 0xE2 && startsWith(d, p + 4, ICC_ID)) {
                if (out == null) {
                    out = new ByteArrayOutputStream(d.length);
                }
                out.write(d, copied, p - copied);
                copied = p + 2 + length;
            }
            p += 2 + length;
        }
        if (out == null) {
            return d;
        }
        out.write(d, copied, d.length - copied);
        return out.toByteArray();
    }

    /** Drops the ICCP chunk of an extended WebP, clearing its flag and fixing the RIFF size. */
    private static byte[] stripWebp(byte[] d) {
        if (d.length < 30 || d[12] != 'V' || d[13] != 'P' || d[14] != '8' || d[15] != 'X') {
            return d;
        }
        int p = 12;
        while (p + 8 <= d.length) {
            int size =
                    ByteBuffer.wrap(d, p + 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            long next = p + 8L + size + (size & 1);
            if (size < 0 || next > d.length) {
                return d;
            }
            if (d[p] == 'I' && d[p + 1] == 'C' && d[p + 2] == 'C' && d[p + 3] == 'P') {
                byte[] out = new byte[d.length - (int) (next - p)];
                System.arraycopy(d, 0, out, 0, p);
                System.arraycopy(d, (int) next, out, p, d.length - (int) next);
                ByteBuffer.wrap(out, 4, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(out.length - 8);
                out[20] = (byte) (out[20] & ~0x20);
                return out;
            }
            p = (int) next;
        }
        return d;
    }

    /** The ICC profile of a PNG's iCCP chunk, if it has a readable one. */
    static Optional<ICC_Profile> png(byte[] d) {
        int p = 8;
        while (p + 12 <= d.length) {
            int length = ByteBuffer.wrap(d, p, 4).getInt();
            if (length < 0 || p + 12L + length > d.length) {
                return Optional.empty();
            }
            String type = new String(d, p + 4, 4, StandardCharsets.US_ASCII);
            if (type.equals("IDAT") || type.equals("IEND")) {
                return Optional.empty();
            }
            if (type.equals("iCCP")) {
                int nameEnd = p + 8;
                while (nameEnd < p + 8 + length && d[nameEnd] != 0) {
                    nameEnd++;
                }
                int zlib = nameEnd + 2;
                Inflater inflater = new Inflater();
                try {
                    inflater.setInput(d, zlib, p + 8 + length - zlib);
                    ByteArrayOutputStream profile = new ByteArrayOutputStream();
                    byte[] buffer = new byte[8192];
                    while (!inflater.finished()) {
                        int n = inflater.inflate(buffer);
                        if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                            return Optional.empty();
                        }
                        profile.write(buffer, 0, n);
                        if (profile.size() > MAX_PROFILE_BYTES) {
                            return Optional.empty();
                        }
                    }
                    return Optional.of(ICC_Profile.getInstance(profile.toByteArray()));
                } catch (DataFormatException | IllegalArgumentException e) {
                    return Optional.empty();
                } finally {
                    inflater.end();
                }
            }
            p += 12 + length;
        }
        return Optional.empty();
    }

    private static boolean startsWith(byte[] d, int offset, byte[] prefix) {
        if (offset + prefix.length > d.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (d[offset + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
