package io.streamvision.preprocess.corpus;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;

/**
 * Writes the bad-input corpus in {@code src/test/resources/bad-inputs/} and its manifest ({@code
 * expected.tsv}: file, then the reason code the preprocess service must give, or OK for
 * odd-but-valid inputs that must be served). Run once to regenerate: {@code mvn -pl
 * services/preprocess exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.streamvision.preprocess.corpus.BadInputCorpus}.
 */
public final class BadInputCorpus {

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "src/test/resources/bad-inputs");
        Files.createDirectories(dir);
        Map<String, String> expected = new LinkedHashMap<>();
        Map<String, byte[]> files = new LinkedHashMap<>();
        byte[] jpeg = encode(noise(96, 64, BufferedImage.TYPE_INT_RGB), "jpg");
        byte[] png = encode(noise(64, 48, BufferedImage.TYPE_INT_RGB), "png");
        byte[] gif = encode(noise(40, 30, BufferedImage.TYPE_BYTE_INDEXED), "gif");
        byte[] bmp = encode(noise(40, 30, BufferedImage.TYPE_INT_RGB), "bmp");

        add(files, expected, "empty.jpg", new byte[0], "BAD_REQUEST");
        add(files, expected, "text.txt", "just some text\n".getBytes(StandardCharsets.UTF_8), "UNSUPPORTED_FORMAT");
        add(
                files,
                expected,
                "text-named.jpg",
                "not really a jpeg\n".getBytes(StandardCharsets.UTF_8),
                "UNSUPPORTED_FORMAT");
        add(
                files,
                expected,
                "page.html.png",
                "<html><body>hi</body></html>".getBytes(StandardCharsets.UTF_8),
                "UNSUPPORTED_FORMAT");
        add(
                files,
                expected,
                "drawing.svg",
                "<svg xmlns='http://www.w3.org/2000/svg'/>".getBytes(StandardCharsets.UTF_8),
                "UNSUPPORTED_FORMAT");
        add(
                files,
                expected,
                "document.pdf",
                "%PDF-1.4\n%âãÏÓ\n1 0 obj\n".getBytes(StandardCharsets.ISO_8859_1),
                "UNSUPPORTED_FORMAT");
        add(files, expected, "image.tiff", new byte[] {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0}, "CORRUPT_IMAGE");
        add(files, expected, "random.bin", random(4096, 11), "UNSUPPORTED_FORMAT");
        add(files, expected, "broken-moov.mp4", brokenMp4(), "UNSUPPORTED_FORMAT");
        add(files, expected, "zip.png", new byte[] {'P', 'K', 3, 4, 20, 0, 0, 0}, "UNSUPPORTED_FORMAT");

        add(files, expected, "truncated-half.jpg", Arrays.copyOf(jpeg, jpeg.length / 2), "TRUNCATED");
        add(files, expected, "truncated-header.jpg", Arrays.copyOf(jpeg, 12), "TRUNCATED");
        add(
                files,
                expected,
                "soi-eoi-only.jpg",
                new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xD9},
                "CORRUPT_IMAGE");
        add(
                files,
                expected,
                "garbage-after-soi.jpg",
                concat(
                        concat(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}, random(300, 12)),
                        new byte[] {(byte) 0xFF, (byte) 0xD9}),
                "CORRUPT_IMAGE");
        add(files, expected, "truncated-half.png", Arrays.copyOf(png, png.length / 2), "TRUNCATED");
        add(files, expected, "truncated-header.png", Arrays.copyOf(png, 20), "TRUNCATED");
        add(files, expected, "signature-only.png", Arrays.copyOf(png, 8), "TRUNCATED");
        add(files, expected, "corrupt-idat.png", corruptIdat(png), "CORRUPT_IMAGE");
        add(files, expected, "zero-width.png", pngHeader(0, 10, true), "CORRUPT_IMAGE");
        add(files, expected, "huge-30000x30000.png", pngHeader(30000, 30000, true), "DIMENSIONS_EXCEEDED");
        add(files, expected, "wide-20000x1.png", pngHeader(20000, 1, true), "DIMENSIONS_EXCEEDED");
        add(files, expected, "bomb.gif", gifBomb(), "DIMENSIONS_EXCEEDED");
        add(files, expected, "truncated.gif", Arrays.copyOf(gif, gif.length / 2), "TRUNCATED");
        add(files, expected, "header-only.gif", Arrays.copyOf(gif, 6), "TRUNCATED");
        add(files, expected, "huge.bmp", bmpHeader(100_000, 100_000), "DIMENSIONS_EXCEEDED");
        // Bombs in the formats added beside the JDK's: each header claims a huge image, refused
        // before a pixel buffer is allocated.
        add(
                files,
                expected,
                "huge.ppm",
                "P6\n100000 100000\n255\n".getBytes(StandardCharsets.US_ASCII),
                "DIMENSIONS_EXCEEDED");
        add(files, expected, "huge.tiff", tiffHeader(60_000, 60_000), "DIMENSIONS_EXCEEDED");
        add(files, expected, "huge.psd", psdHeader(30_000, 30_000), "DIMENSIONS_EXCEEDED");
        add(files, expected, "huge.tga", tgaHeader(65_535, 65_535), "DIMENSIONS_EXCEEDED");
        add(files, expected, "truncated.bmp", Arrays.copyOf(bmp, bmp.length / 2), "TRUNCATED");
        add(files, expected, "header-only.webp", webpHeaderOnly(), "TRUNCATED");
        add(files, expected, "padded-over-limit.jpg", concat(jpeg, new byte[600 * 1024]), "TOO_LARGE");

        add(files, expected, "png-named.jpg", png, "OK");
        add(files, expected, "jpeg-named.png", jpeg, "OK");
        add(files, expected, "first-frame.gif", gif, "OK");
        add(files, expected, "plain.bmp", bmp, "OK");
        add(
                files,
                expected,
                "grey-alpha.png",
                encode(new BufferedImage(33, 21, BufferedImage.TYPE_INT_ARGB), "png"),
                "OK");

        StringBuilder manifest = new StringBuilder("# file\texpected reason (OK: must be served)\n");
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            Files.write(dir.resolve(file.getKey()), file.getValue());
            manifest.append(file.getKey())
                    .append('\t')
                    .append(expected.get(file.getKey()))
                    .append('\n');
        }
        Files.writeString(dir.resolve("expected.tsv"), manifest);
        System.out.println("wrote " + files.size() + " files to " + dir);
    }

    private static void add(
            Map<String, byte[]> files, Map<String, String> expected, String name, byte[] data, String reason) {
        files.put(name, data);
        expected.put(name, reason);
    }

    static BufferedImage noise(int w, int h, int type) {
        BufferedImage image = new BufferedImage(w, h, type);
        Random random = new Random(w * 31L + h);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, random.nextInt(0xFFFFFF));
            }
        }
        return image;
    }

    static byte[] encode(BufferedImage image, String format) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(image, format, out)) {
            throw new IllegalStateException("no writer for " + format);
        }
        return out.toByteArray();
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        b[0] = 0x13;
        return b;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** An MP4 whose moov box claims far more bytes than the file has. */
    static byte[] brokenMp4() {
        ByteBuffer b = ByteBuffer.allocate(64);
        b.putInt(24)
                .put("ftyp".getBytes(StandardCharsets.US_ASCII))
                .put("isom".getBytes(StandardCharsets.US_ASCII))
                .putInt(512)
                .put("isomiso2".getBytes(StandardCharsets.US_ASCII));
        b.putInt(0x7FFFFFF0).put("moov".getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    /** A PNG with the given IHDR and one tiny IDAT: small on disk whatever the dimensions claim. */
    static byte[] pngHeader(int width, int height, boolean withData) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        ByteBuffer ihdr = ByteBuffer.allocate(13)
                .putInt(width)
                .putInt(height)
                .put((byte) 8)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        if (withData) {
            Deflater deflater = new Deflater();
            deflater.setInput(new byte[64]);
            deflater.finish();
            byte[] buf = new byte[256];
            int n = deflater.deflate(buf);
            chunk(out, "IDAT", Arrays.copyOf(buf, n));
        }
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws Exception {
        out.write(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** Flips bytes inside the IDAT chunk and fixes its CRC, so only the compressed data is bad. */
    static byte[] corruptIdat(byte[] png) {
        byte[] out = png.clone();
        for (int i = 8; i + 8 < out.length; ) {
            int len = ByteBuffer.wrap(out, i, 4).getInt();
            String type = new String(out, i + 4, 4, StandardCharsets.US_ASCII);
            if (type.equals("IDAT")) {
                for (int k = i + 8 + 2; k < i + 8 + len; k += 3) {
                    out[k] ^= (byte) 0x5A;
                }
                CRC32 crc = new CRC32();
                crc.update(out, i + 4, 4 + len);
                ByteBuffer.wrap(out, i + 8 + len, 4).putInt((int) crc.getValue());
                break;
            }
            i += 12 + len;
        }
        return out;
    }

    /** A GIF whose logical screen and only image claim 65535 x 65535 pixels. */
    static byte[] gifBomb() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.put("GIF89a".getBytes(StandardCharsets.US_ASCII))
                .putShort((short) 0xFFFF)
                .putShort((short) 0xFFFF)
                .put((byte) 0x80)
                .put((byte) 0)
                .put((byte) 0);
        b.put(new byte[6]);
        b.put((byte) 0x2C)
                .putShort((short) 0)
                .putShort((short) 0)
                .putShort((short) 0xFFFF)
                .putShort((short) 0xFFFF)
                .put((byte) 0);
        b.put((byte) 2)
                .put((byte) 2)
                .put((byte) 0x4C)
                .put((byte) 0x01)
                .put((byte) 0)
                .put((byte) 0x3B);
        return Arrays.copyOf(b.array(), b.position());
    }

    /** A BMP header claiming the given size, with no pixel data. */
    static byte[] bmpHeader(int width, int height) {
        ByteBuffer b = ByteBuffer.allocate(54).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'B').put((byte) 'M').putInt(54).putInt(0).putInt(54);
        b.putInt(40)
                .putInt(width)
                .putInt(height)
                .putShort((short) 1)
                .putShort((short) 24)
                .putInt(0)
                .putInt(0)
                .putInt(2835)
                .putInt(2835)
                .putInt(0)
                .putInt(0);
        return b.array();
    }

    /**
     * A little-endian TIFF whose one IFD claims an 8-bit grey image of the given size, with no
     * strips.
     */
    static byte[] tiffHeader(int width, int height) {
        ByteBuffer b = ByteBuffer.allocate(8 + 2 + 5 * 12 + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8).putShort((short) 5);
        int[][] tags = {{256, 4, width}, {257, 4, height}, {258, 3, 8}, {262, 3, 1}, {277, 3, 1}};
        for (int[] t : tags) {
            b.putShort((short) t[0]).putShort((short) t[1]).putInt(1).putInt(t[2]);
        }
        return b.putInt(0).array();
    }

    /** A PSD header claiming an RGB image of the given size. */
    static byte[] psdHeader(int width, int height) {
        ByteBuffer b = ByteBuffer.allocate(26 + 12);
        b.put("8BPS".getBytes(StandardCharsets.US_ASCII))
                .putShort((short) 1)
                .put(new byte[6])
                .putShort((short) 3)
                .putInt(height)
                .putInt(width)
                .putShort((short) 8)
                .putShort((short) 3);
        return b.putInt(0).putInt(0).putInt(0).array();
    }

    /** An uncompressed 24-bit TGA header claiming the given size. */
    static byte[] tgaHeader(int width, int height) {
        ByteBuffer b = ByteBuffer.allocate(18 + 64).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0)
                .put((byte) 0)
                .put((byte) 2)
                .put(new byte[5])
                .putShort((short) 0)
                .putShort((short) 0)
                .putShort((short) width)
                .putShort((short) height)
                .put((byte) 24)
                .put((byte) 0);
        return b.array();
    }

    /** A RIFF/WEBP header with a VP8 chunk that stops before its data. */
    static byte[] webpHeaderOnly() {
        ByteBuffer b = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII))
                .putInt(1000)
                .put("WEBP".getBytes(StandardCharsets.US_ASCII))
                .put("VP8 ".getBytes(StandardCharsets.US_ASCII))
                .putInt(900);
        b.put(new byte[] {(byte) 0x9d, 0x01, 0x2a});
        return Arrays.copyOf(b.array(), b.position());
    }
}
