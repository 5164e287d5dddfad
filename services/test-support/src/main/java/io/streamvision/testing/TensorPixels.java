package io.streamvision.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/** Compares a normalised image tensor with reference pixels, in 0–255 pixel units. */
public final class TensorPixels {

    private TensorPixels() {}

    /**
     * Mean and max absolute difference between a little-endian FP32 NCHW tensor normalised as
     * {@code (pixel / 255 - mean) / std} and interleaved RGB reference pixels of {@code plane}
     * pixels, after the normalisation is undone.
     */
    public static double[] difference(byte[] tensor, byte[] rgb, int plane, float[] mean, float[] std) {
        FloatBuffer values =
                ByteBuffer.wrap(tensor).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        double sum = 0;
        double max = 0;
        for (int ch = 0; ch < 3; ch++) {
            for (int p = 0; p < plane; p++) {
                double pixel = (values.get(ch * plane + p) * std[ch] + mean[ch]) * 255.0;
                double d = Math.abs(pixel - (rgb[p * 3 + ch] & 0xFF));
                sum += d;
                max = Math.max(max, d);
            }
        }
        return new double[] {sum / (3.0 * plane), max};
    }
}
