package io.streamvision.imaging;

/**
 * Bilinear resampling with antialiasing when downscaling: a separable triangle filter whose
 * support widens with the scale factor, horizontal pass first, then vertical. These are the
 * semantics of PIL's {@code Image.resize(size, BILINEAR)}, which torchvision's {@code Resize}
 * uses on PIL images, so tensors made here match a PyTorch training pipeline.
 *
 * <p>Stateless and thread-safe.
 */
public final class Resampler {

    private Resampler() {
    }

    /** Resizes to exactly {@code outWidth × outHeight}. */
    public static RgbImage resize(RgbImage in, int outWidth, int outHeight) {
        if (in.width() == outWidth && in.height() == outHeight) {
            return in;
        }
        int c = in.channels();
        float[] src = new float[in.pixels().length];
        for (int i = 0; i < src.length; i++) {
            src[i] = in.pixels()[i] & 0xFF;
        }
        float[] horizontal = pass(src, in.width(), in.height(), c, outWidth, true);
        float[] both = pass(horizontal, outWidth, in.height(), c, outHeight, false);
        byte[] out = new byte[both.length];
        for (int i = 0; i < both.length; i++) {
            int v = Math.round(both[i]);
            out[i] = (byte) (v < 0 ? 0 : Math.min(v, 255));
        }
        return new RgbImage(outWidth, outHeight, c, out);
    }

    /** One separable pass along x (horizontal) or y. */
    private static float[] pass(float[] src, int width, int height, int channels, int outSize, boolean horizontal) {
        int inSize = horizontal ? width : height;
        if (inSize == outSize) {
            return src;
        }
        Kernel kernel = Kernel.bilinear(inSize, outSize);
        return horizontal ? horizontal(src, width, height, channels, outSize, kernel)
                : vertical(src, width, channels, outSize, kernel);
    }

    private static float[] horizontal(float[] src, int width, int height, int c, int outWidth, Kernel kernel) {
        float[] dst = new float[outWidth * height * c];
        for (int y = 0; y < height; y++) {
            int rowIn = y * width * c;
            int rowOut = y * outWidth * c;
            for (int x = 0; x < outWidth; x++) {
                int first = rowIn + kernel.start[x] * c;
                int count = kernel.count[x];
                int w0 = x * kernel.stride;
                for (int ch = 0; ch < c; ch++) {
                    float acc = 0f;
                    for (int k = 0, i = first + ch; k < count; k++, i += c) {
                        acc += src[i] * kernel.weights[w0 + k];
                    }
                    dst[rowOut + x * c + ch] = acc;
                }
            }
        }
        return dst;
    }

    /** Whole rows at a time, so the inner loop streams through memory. */
    private static float[] vertical(float[] src, int width, int c, int outHeight, Kernel kernel) {
        int rowLen = width * c;
        float[] dst = new float[outHeight * rowLen];
        for (int y = 0; y < outHeight; y++) {
            int out = y * rowLen;
            int w0 = y * kernel.stride;
            for (int k = 0; k < kernel.count[y]; k++) {
                float w = kernel.weights[w0 + k];
                int in = (kernel.start[y] + k) * rowLen;
                for (int i = 0; i < rowLen; i++) {
                    dst[out + i] += src[in + i] * w;
                }
            }
        }
        return dst;
    }

    /** Precomputed filter taps for one axis. */
    private static final class Kernel {
        final int[] start;
        final int[] count;
        final float[] weights;
        final int stride;

        private Kernel(int[] start, int[] count, float[] weights, int stride) {
            this.start = start;
            this.count = count;
            this.weights = weights;
            this.stride = stride;
        }

        static Kernel bilinear(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // triangle filter support 1.0, widened when downscaling
            int stride = (int) Math.ceil(support) * 2 + 1;
            int[] start = new int[outSize];
            int[] count = new int[outSize];
            float[] weights = new float[outSize * stride];
            for (int o = 0; o < outSize; o++) {
                double center = (o + 0.5) * scale;
                int min = Math.max((int) (center - support + 0.5), 0);
                int max = Math.min((int) (center + support + 0.5), inSize);
                int n = max - min;
                double total = 0;
                double[] w = new double[n];
                for (int k = 0; k < n; k++) {
                    double t = Math.abs((k + min - center + 0.5) / filterScale);
                    w[k] = t < 1.0 ? 1.0 - t : 0.0;
                    total += w[k];
                }
                for (int k = 0; k < n; k++) {
                    weights[o * stride + k] = (float) (total == 0 ? 0 : w[k] / total);
                }
                start[o] = min;
                count[o] = n;
            }
            return new Kernel(start, count, weights, stride);
        }
    }
}
