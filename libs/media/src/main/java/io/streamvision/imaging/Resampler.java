package io.streamvision.imaging;

import java.util.Arrays;

/**
 * Bilinear resampling with antialiasing when downscaling, computed exactly as Pillow's {@code
 * Image.resize(size, BILINEAR)} computes it for 8-bit images (which is what torchvision's {@code
 * Resize} runs on PIL images): a separable triangle filter whose support widens with the scale
 * factor, coefficients in 22-bit fixed point, the horizontal pass first and rounded to 8 bits, then
 * the vertical pass. The result is the same bytes Pillow produces, so tensors made here are the
 * ones a PyTorch training pipeline made.
 *
 * <p>{@link #resizeRegion} computes only the output rows and columns a crop keeps, and only the
 * source rows those need; the bytes equal resizing the whole image and cropping.
 *
 * <p>Stateless and thread-safe.
 */
public final class Resampler {

    /** Pillow's {@code PRECISION_BITS} for 8-bit images: 32 − 8 − 2. */
    private static final int PRECISION_BITS = 22;

    private static final int HALF = 1 << (PRECISION_BITS - 1);

    private Resampler() {}

    /** Resizes to exactly {@code outWidth × outHeight}. */
    public static RgbImage resize(RgbImage in, int outWidth, int outHeight) {
        return resizeRegion(in, outWidth, outHeight, 0, 0, outWidth, outHeight);
    }

    /**
     * The rectangle {@code [left, left + width) × [top, top + height)} of the image resized to
     * {@code outWidth × outHeight}.
     */
    public static RgbImage resizeRegion(
            RgbImage in, int outWidth, int outHeight, int left, int top, int width, int height) {
        if (left < 0 || top < 0 || width <= 0 || height <= 0 || left + width > outWidth || top + height > outHeight) {
            throw new IllegalArgumentException("region "
                    + width
                    + "x"
                    + height
                    + "+"
                    + left
                    + "+"
                    + top
                    + " is outside "
                    + outWidth
                    + "x"
                    + outHeight);
        }
        boolean horizontal = outWidth != in.width();
        boolean vertical = outHeight != in.height();
        if (!horizontal && !vertical) {
            return width == outWidth && height == outHeight ? in : in.crop(left, top, width, height);
        }
        int c = in.channels();
        Kernel rows = vertical ? Kernel.bilinear(in.height(), outHeight, top, height) : null;
        // Source rows the vertical pass reads, or the crop's own rows when there is no vertical
        // pass.
        int firstRow = vertical ? rows.start[0] : top;
        int lastRow = vertical ? rows.start[height - 1] + rows.count[height - 1] : top + height;
        byte[] src = in.pixels();
        int srcWidth = in.width();
        int srcLeft = 0;
        if (horizontal) {
            Kernel columns = Kernel.bilinear(in.width(), outWidth, left, width);
            src = horizontal(in.pixels(), in.width(), c, firstRow, lastRow, width, columns);
            srcWidth = width;
            firstRow = 0;
        } else {
            srcLeft = left;
        }
        if (!vertical) {
            if (srcLeft == 0 && srcWidth == width) {
                return new RgbImage(width, height, c, src);
            }
            return new RgbImage(srcWidth, height, c, src).crop(srcLeft, 0, width, height);
        }
        int shift = horizontal ? rows.start[0] : 0;
        return new RgbImage(width, height, c, vertical(src, srcWidth, c, srcLeft, width, shift, rows));
    }

    /** The horizontal pass over source rows {@code [firstRow, lastRow)}, into 8 bits. */
    private static byte[] horizontal(byte[] src, int width, int c, int firstRow, int lastRow, int outWidth, Kernel k) {
        byte[] dst = new byte[(lastRow - firstRow) * outWidth * c];
        int[] w = k.weights;
        int o = 0;
        for (int y = firstRow; y < lastRow; y++) {
            int row = y * width * c;
            for (int x = 0; x < outWidth; x++) {
                int first = row + k.start[x] * c;
                int n = k.count[x];
                int w0 = x * k.stride;
                if (c == 3) {
                    int s0 = HALF;
                    int s1 = HALF;
                    int s2 = HALF;
                    for (int t = 0, i = first; t < n; t++, i += 3) {
                        int kw = w[w0 + t];
                        s0 += (src[i] & 0xFF) * kw;
                        s1 += (src[i + 1] & 0xFF) * kw;
                        s2 += (src[i + 2] & 0xFF) * kw;
                    }
                    dst[o++] = clip8(s0);
                    dst[o++] = clip8(s1);
                    dst[o++] = clip8(s2);
                } else {
                    for (int ch = 0; ch < c; ch++) {
                        int s = HALF;
                        for (int t = 0, i = first + ch; t < n; t++, i += c) {
                            s += (src[i] & 0xFF) * w[w0 + t];
                        }
                        dst[o++] = clip8(s);
                    }
                }
            }
        }
        return dst;
    }

    /**
     * The vertical pass: output row {@code y} reads source rows {@code k.start[y] − shift} on,
     * columns {@code [left, left + outWidth)} of rows {@code width} pixels wide.
     */
    private static byte[] vertical(byte[] src, int width, int c, int left, int outWidth, int shift, Kernel k) {
        int outRows = k.start.length;
        int rowLen = outWidth * c;
        byte[] dst = new byte[outRows * rowLen];
        int[] acc = new int[rowLen];
        int[] w = k.weights;
        for (int y = 0; y < outRows; y++) {
            Arrays.fill(acc, HALF);
            int w0 = y * k.stride;
            for (int t = 0; t < k.count[y]; t++) {
                int kw = w[w0 + t];
                int in = ((k.start[y] - shift + t) * width + left) * c;
                for (int i = 0; i < rowLen; i++) {
                    acc[i] += (src[in + i] & 0xFF) * kw;
                }
            }
            int out = y * rowLen;
            for (int i = 0; i < rowLen; i++) {
                dst[out + i] = clip8(acc[i]);
            }
        }
        return dst;
    }

    private static byte clip8(int v) {
        if (v >= (1 << PRECISION_BITS << 8)) {
            return (byte) 255;
        }
        if (v <= 0) {
            return 0;
        }
        return (byte) (v >> PRECISION_BITS);
    }

    /** Fixed-point filter taps for output positions {@code [first, first + count)} of one axis. */
    private static final class Kernel {
        final int[] start;
        final int[] count;
        final int[] weights;
        final int stride;

        private Kernel(int[] start, int[] count, int[] weights, int stride) {
            this.start = start;
            this.count = count;
            this.weights = weights;
            this.stride = stride;
        }

        /**
         * Pillow's {@code precompute_coeffs} and {@code normalize_coeffs_8bpc}, for some outputs
         * only.
         */
        static Kernel bilinear(int inSize, int outSize, int first, int outputs) {
            double scale = (double) (float) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // the triangle filter's support is 1, widened when downscaling
            int stride = (int) Math.ceil(support) * 2 + 1;
            double ss = 1.0 / filterScale;
            int[] start = new int[outputs];
            int[] count = new int[outputs];
            int[] weights = new int[outputs * stride];
            double[] w = new double[stride];
            for (int j = 0; j < outputs; j++) {
                int o = first + j;
                double center = (o + 0.5) * scale;
                int min = Math.max((int) (center - support + 0.5), 0);
                int max = Math.min((int) (center + support + 0.5), inSize) - min;
                double total = 0;
                for (int t = 0; t < max; t++) {
                    double x = Math.abs((t + min - center + 0.5) * ss);
                    w[t] = x < 1.0 ? 1.0 - x : 0.0;
                    total += w[t];
                }
                for (int t = 0; t < max; t++) {
                    double v = total != 0.0 ? w[t] / total : w[t];
                    weights[j * stride + t] =
                            (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
                }
                start[j] = min;
                count[j] = max;
            }
            return new Kernel(start, count, weights, stride);
        }
    }
}
