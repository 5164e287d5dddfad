package io.streamvision.runtime;

/** IEEE 754 binary16 (OIP's FP16) to and from binary32. Stateless, thread-safe. */
public final class Halves {

    private Halves() {}

    /** binary16 to binary32, exactly. */
    public static float toFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float value = mantissa * 0x1p-24f;
            return sign == 0 ? value : -value;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** binary32 to binary16, rounding to nearest even (overflow to infinity, NaN kept). */
    public static short fromFloat(float value) {
        int x = Float.floatToRawIntBits(value);
        int sign = (x >>> 16) & 0x8000;
        int e = (x >>> 23) & 0xFF;
        int m = x & 0x7FFFFF;
        if (e == 0xFF) {
            return (short) (sign | 0x7C00 | (m != 0 ? 0x200 : 0));
        }
        int he = e - 127 + 15;
        if (he >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (he <= 0) {
            if (he < -10) {
                return (short) sign;
            }
            m |= 0x800000;
            int shift = 14 - he;
            int hm = m >>> shift;
            int rest = m & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rest > half || (rest == half && (hm & 1) != 0)) {
                hm++;
            }
            return (short) (sign | hm);
        }
        int out = sign | (he << 10) | (m >>> 13);
        int rest = m & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (out & 1) != 0)) {
            out++;
        }
        return (short) out;
    }
}
