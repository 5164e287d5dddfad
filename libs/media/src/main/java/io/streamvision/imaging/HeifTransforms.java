package io.streamvision.imaging;

import java.util.ArrayList;
import java.util.List;

/**
 * The transformations of a HEIF or AVIF file's primary image, read from its {@code meta} box: the
 * {@code irot} (rotation anticlockwise in quarter turns) and {@code imir} (mirror) properties that
 * {@code ipma} associates with the item {@code pitm} names, in the order they are listed, each as
 * the EXIF orientation (1-8) that performs it. HEIF readers apply these and ignore any EXIF
 * orientation tag. A box that cannot be read gives no transformation. Stateless.
 */
final class HeifTransforms {

    private HeifTransforms() {}

    /** The EXIF orientations to apply in order; empty when there are none. */
    static List<Integer> of(byte[] d) {
        try {
            int[] meta = child(d, 0, d.length, "meta");
            if (meta == null) {
                return List.of();
            }
            int body = meta[0] + 4; // a full box: version and flags first
            int[] pitm = child(d, body, meta[1], "pitm");
            int[] iprp = child(d, body, meta[1], "iprp");
            if (pitm == null || iprp == null) {
                return List.of();
            }
            int version = d[pitm[0]] & 0xFF;
            long primary = version == 0 ? u16(d, pitm[0] + 4) : u32(d, pitm[0] + 4);
            int[] ipco = child(d, iprp[0], iprp[1], "ipco");
            int[] ipma = child(d, iprp[0], iprp[1], "ipma");
            if (ipco == null || ipma == null) {
                return List.of();
            }
            List<int[]> properties = children(d, ipco[0], ipco[1]);
            List<Integer> out = new ArrayList<>();
            for (int index : associations(d, ipma, primary)) {
                if (index < 1 || index > properties.size()) {
                    continue;
                }
                int[] p = properties.get(index - 1);
                String type = type(d, p);
                if (type.equals("irot")) {
                    // anticlockwise quarter turns 1, 2, 3 -> EXIF 8, 3, 6
                    out.add(new int[] {1, 8, 3, 6}[d[p[0]] & 3]);
                } else if (type.equals("imir")) {
                    // axis 0: top and bottom swap (about a horizontal axis); 1: left and right swap,
                    // as libheif and libavif read it
                    out.add((d[p[0]] & 1) == 0 ? 4 : 2);
                }
            }
            return out;
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    /** The property indices (1-based) {@code ipma} associates with {@code item}, in order. */
    private static List<Integer> associations(byte[] d, int[] ipma, long item) {
        int version = d[ipma[0]] & 0xFF;
        int flags = d[ipma[0] + 3] & 0xFF;
        int at = ipma[0] + 4;
        long entries = u32(d, at);
        at += 4;
        for (long e = 0; e < entries && at < ipma[1]; e++) {
            long id = version < 1 ? u16(d, at) : u32(d, at);
            at += version < 1 ? 2 : 4;
            int count = d[at++] & 0xFF;
            List<Integer> indices = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int index;
                if ((flags & 1) != 0) {
                    index = (int) (u16(d, at) & 0x7FFF);
                    at += 2;
                } else {
                    index = d[at++] & 0x7F;
                }
                indices.add(index);
            }
            if (id == item) {
                return indices;
            }
        }
        return List.of();
    }

    /** The body [start, end) of the first child box of {@code type} within [from, to), or null. */
    private static int[] child(byte[] d, int from, int to, String type) {
        for (int[] box : children(d, from, to)) {
            if (type(d, box).equals(type)) {
                return box;
            }
        }
        return null;
    }

    /** Every box within [from, to), as {body start, body end, header start}. */
    private static List<int[]> children(byte[] d, int from, int to) {
        List<int[]> out = new ArrayList<>();
        int at = from;
        while (at + 8 <= to) {
            long size = u32(d, at);
            int header = 8;
            if (size == 1) {
                size = (u32(d, at + 8) << 32) | u32(d, at + 12);
                header = 16;
            } else if (size == 0) {
                size = to - at;
            }
            if (size < header || at + size > to) {
                break;
            }
            out.add(new int[] {at + header, (int) (at + size), at});
            at += (int) size;
        }
        return out;
    }

    private static String type(byte[] d, int[] box) {
        return new String(d, box[2] + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static long u16(byte[] d, int at) {
        return ((d[at] & 0xFFL) << 8) | (d[at + 1] & 0xFFL);
    }

    private static long u32(byte[] d, int at) {
        return ((d[at] & 0xFFL) << 24) | ((d[at + 1] & 0xFFL) << 16) | ((d[at + 2] & 0xFFL) << 8) | (d[at + 3] & 0xFFL);
    }
}
