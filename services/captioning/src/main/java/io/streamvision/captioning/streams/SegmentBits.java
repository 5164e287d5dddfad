package io.streamvision.captioning.streams;

import com.google.protobuf.ByteString;

/**
 * The segments of a video whose events arrived, as a bitset in the aggregation header: bit i (byte
 * i / 8, bit i % 8) is segment i. Its size grows with the number of segments, not frames. Static
 * functions; thread-safe.
 */
final class SegmentBits {

    /** Ranges of missing segments named in a message before the rest is counted. */
    private static final int MAX_NAMED_RANGES = 20;

    private SegmentBits() {}

    /** True when segment {@code index}'s event is recorded in {@code bits}. */
    static boolean segmentDone(ByteString bits, int index) {
        int b = index >>> 3;
        return b < bits.size() && (bits.byteAt(b) & (1 << (index & 7))) != 0;
    }

    /** {@code bits} with segment {@code index} recorded. */
    static ByteString withSegment(ByteString bits, int index) {
        int b = index >>> 3;
        byte[] out = new byte[Math.max(bits.size(), b + 1)];
        bits.copyTo(out, 0);
        out[b] |= (byte) (1 << (index & 7));
        return ByteString.copyFrom(out);
    }

    /** Segments 0..last recorded in {@code bits}. */
    static int segmentsDoneThrough(ByteString bits, int last) {
        int count = 0;
        int full = Math.min(bits.size(), (last + 1) >>> 3);
        for (int b = 0; b < full; b++) {
            count += Integer.bitCount(bits.byteAt(b) & 0xff);
        }
        for (int i = full << 3; i <= last; i++) {
            count += segmentDone(bits, i) ? 1 : 0;
        }
        return count;
    }

    /** The highest segment recorded in {@code bits}, or -1. */
    static int highestSegment(ByteString bits) {
        for (int b = bits.size() - 1; b >= 0; b--) {
            int v = bits.byteAt(b) & 0xff;
            if (v != 0) {
                return (b << 3) + 31 - Integer.numberOfLeadingZeros(v);
            }
        }
        return -1;
    }

    /** Segments of 0..last not in {@code bits}, as ranges ("2, 5-7"); long lists end in a count. */
    static String missingSegments(ByteString bits, int last) {
        StringBuilder out = new StringBuilder();
        int named = 0;
        int unnamed = 0;
        int i = 0;
        while (i <= last) {
            if (segmentDone(bits, i)) {
                i++;
                continue;
            }
            int j = i;
            while (j + 1 <= last && !segmentDone(bits, j + 1)) {
                j++;
            }
            if (named < MAX_NAMED_RANGES) {
                out.append(out.isEmpty() ? "" : ", ").append(i == j ? Integer.toString(i) : i + "-" + j);
                named++;
            } else {
                unnamed += j - i + 1;
            }
            i = j + 1;
        }
        return unnamed == 0 ? out.toString() : out + " and " + unnamed + " more";
    }
}
