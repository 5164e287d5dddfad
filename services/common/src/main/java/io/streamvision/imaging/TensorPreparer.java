package io.streamvision.imaging;

import com.google.protobuf.ByteString;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelConfig.TensorSpec;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Brings a decoded image to a model's image input: colour conversion, the configured resize policy,
 * then either UINT8 (when the model accepts it and the caller asks) or normalised FP32 {@code
 * (pixel / scale - mean) / std} in the input layout (NCHW or NHWC), little-endian. The Kafka path
 * and the gRPC calls both use this class, so they give identical tensors.
 *
 * <p>Stateless and thread-safe.
 */
public final class TensorPreparer {

    /** A single-image tensor (batch dimension 1), ready for raw contents. */
    public record PreparedTensor(String name, String datatype, long[] shape, byte[] data) {

        /** An OIP request for {@code config}'s model carrying this tensor as raw contents. */
        public ModelInferRequest.Builder toInferRequest(String requestId, ModelConfig config) {
            var infer = ModelInferRequest.newBuilder()
                    .setModelName(config.name())
                    .setModelVersion(Integer.toString(config.version()))
                    .setId(requestId);
            infer.addInputsBuilder()
                    .setName(name)
                    .setDatatype(datatype)
                    .addAllShape(Arrays.stream(shape).boxed().toList());
            infer.addRawInputContents(ByteString.copyFrom(data));
            return infer;
        }
    }

    private TensorPreparer() {}

    /** Resizes an image as the input spec says; the result has the input's width and height. */
    public static RgbImage resize(RgbImage image, TensorSpec spec) throws ImageRejectedException {
        ModelConfig.Resize resize = spec.resize();
        RgbImage coloured = spec.channels() == 1 ? image.toGrey() : image.toRgb();
        int w = resize.width();
        int h = resize.height();
        String policy = resize.policy() == null ? "stretch" : resize.policy();
        switch (policy) {
            case "stretch":
                return Resampler.resize(coloured, w, h);
            case "shorter-side-crop": {
                int shorter = resize.shorterSide() == null ? Math.min(w, h) : resize.shorterSide();
                int iw = coloured.width();
                int ih = coloured.height();
                int rw;
                int rh;
                if (iw <= ih) {
                    rw = shorter;
                    rh = (int) ((long) shorter * ih / iw);
                } else {
                    rh = shorter;
                    rw = (int) ((long) shorter * iw / ih);
                }
                if (rw < w || rh < h) {
                    throw new ImageRejectedException(
                            ReasonCode.BAD_REQUEST,
                            "resize to shorter side "
                                    + shorter
                                    + " gives "
                                    + rw
                                    + "x"
                                    + rh
                                    + ", smaller than the crop "
                                    + w
                                    + "x"
                                    + h);
                }
                // Round half to even, as torchvision's CenterCrop (Python's round) does; only
                // the
                // rows and columns the crop keeps are resampled.
                int top = (int) Math.rint((rh - h) / 2.0);
                int left = (int) Math.rint((rw - w) / 2.0);
                return Resampler.resizeRegion(coloured, rw, rh, left, top, w, h);
            }
            case "letterbox": {
                double scale = Math.min((double) w / coloured.width(), (double) h / coloured.height());
                int rw = Math.max(1, (int) Math.round(coloured.width() * scale));
                int rh = Math.max(1, (int) Math.round(coloured.height() * scale));
                RgbImage resized = Resampler.resize(coloured, rw, rh);
                int c = resized.channels();
                byte[] out = new byte[w * h * c];
                Arrays.fill(out, (byte) (resize.padValue() == null ? 0 : resize.padValue()));
                int left = (w - rw) / 2;
                int top = (h - rh) / 2;
                for (int y = 0; y < rh; y++) {
                    System.arraycopy(resized.pixels(), y * rw * c, out, ((top + y) * w + left) * c, rw * c);
                }
                return new RgbImage(w, h, c, out);
            }
            default:
                throw new ImageRejectedException(
                        ReasonCode.BAD_REQUEST,
                        "model input " + spec.name() + " has unknown resize policy '" + policy + "'");
        }
    }

    /**
     * Makes the input tensor for one image.
     *
     * @param preferUint8 send UINT8 pixels when the model accepts them (normalisation then happens
     *     in the scoring service), to cut bytes on the wire
     */
    public static PreparedTensor prepare(RgbImage image, TensorSpec spec, boolean preferUint8)
            throws ImageRejectedException {
        RgbImage sized = resize(image, spec);
        int c = sized.channels();
        int w = sized.width();
        int h = sized.height();
        boolean nhwc = "NHWC".equalsIgnoreCase(spec.layout());
        boolean bgr = "BGR".equalsIgnoreCase(spec.colour());
        long[] shape = nhwc ? new long[] {1, h, w, c} : new long[] {1, c, h, w};
        boolean uint8 = preferUint8 && Boolean.TRUE.equals(spec.acceptsUint8());
        int n = w * h * c;
        ByteBuffer out = ByteBuffer.allocate(uint8 ? n : n * 4).order(ByteOrder.LITTLE_ENDIAN);
        byte[] px = sized.pixels();
        int plane = w * h;
        if (uint8) {
            byte[] dst = out.array();
            for (int ch = 0; ch < c; ch++) {
                int source = bgr ? c - 1 - ch : ch;
                for (int p = 0; p < plane; p++) {
                    dst[nhwc ? p * c + ch : ch * plane + p] = px[p * c + source];
                }
            }
        } else {
            FloatBuffer floats = out.asFloatBuffer();
            float[] values = new float[n];
            float[][] normalised = spec.normalisation(c);
            for (int ch = 0; ch < c; ch++) {
                int source = bgr ? c - 1 - ch : ch;
                float[] table = normalised[ch];
                for (int p = 0; p < plane; p++) {
                    values[nhwc ? p * c + ch : ch * plane + p] = table[px[p * c + source] & 0xFF];
                }
            }
            floats.put(values);
        }
        return new PreparedTensor(spec.name(), uint8 ? "UINT8" : "FP32", shape, out.array());
    }
}
