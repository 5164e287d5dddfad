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

    /**
     * A single-image tensor (batch dimension 1), ready for raw contents, and where the image lies in
     * it (null when unknown).
     */
    public record PreparedTensor(String name, String datatype, long[] shape, byte[] data, Placement placement) {

        /**
         * An OIP request for {@code config}'s model carrying this tensor as raw contents, and the
         * image's placement as request parameters. It names no version: the scoring service answers
         * with the version its rollout routes the request to (the serving one without a rollout);
         * the version whose config prepared the tensor travels as the {@code prepared_version}
         * parameter, for dead letters and debugging.
         */
        public ModelInferRequest.Builder toInferRequest(String requestId, ModelConfig config) {
            var infer = ModelInferRequest.newBuilder()
                    .setModelName(config.name())
                    .setId(requestId)
                    .putParameters(
                            PREPARED_VERSION,
                            io.streamvision.proto.inference.InferParameter.newBuilder()
                                    .setStringParam(Integer.toString(config.version()))
                                    .build());
            infer.addInputsBuilder()
                    .setName(name)
                    .setDatatype(datatype)
                    .addAllShape(Arrays.stream(shape).boxed().toList());
            infer.addRawInputContents(ByteString.copyFrom(data));
            if (placement != null) {
                placement.putInto(infer);
            }
            return infer;
        }
    }

    /** The request parameter naming the model version whose config prepared a tensor. */
    public static final String PREPARED_VERSION = "prepared_version";

    private TensorPreparer() {}

    /** Resizes an image as the input spec says; the result has the input's width and height. */
    public static RgbImage resize(RgbImage image, TensorSpec spec) throws ImageRejectedException {
        RgbImage coloured = spec.channels() == 1 ? image.toGrey() : image.toRgb();
        return resize(coloured, spec, placement(coloured.width(), coloured.height(), spec));
    }

    /**
     * Where an image of {@code width} x {@code height} lands in the input under its resize policy.
     *
     * @throws ImageRejectedException BAD_REQUEST for an unknown policy, or a shorter-side resize
     *     that gives less than the crop
     */
    public static Placement placement(int width, int height, TensorSpec spec) throws ImageRejectedException {
        ModelConfig.Resize resize = spec.resize();
        int w = resize.width();
        int h = resize.height();
        String policy = resize.policy() == null ? "stretch" : resize.policy();
        switch (policy) {
            case "stretch":
                return new Placement(width, height, 0, 0, w, h);
            case "shorter-side-crop": {
                int shorter = resize.shorterSide() == null ? Math.min(w, h) : resize.shorterSide();
                int rw;
                int rh;
                if (width <= height) {
                    rw = shorter;
                    rh = (int) ((long) shorter * height / width);
                } else {
                    rh = shorter;
                    rw = (int) ((long) shorter * width / height);
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
                // Round half to even, as torchvision's CenterCrop (Python's round) does.
                int top = (int) Math.rint((rh - h) / 2.0);
                int left = (int) Math.rint((rw - w) / 2.0);
                return new Placement(width, height, -left, -top, rw, rh);
            }
            case "letterbox": {
                double scale = Math.min((double) w / width, (double) h / height);
                int rw = Math.max(1, (int) Math.round(width * scale));
                int rh = Math.max(1, (int) Math.round(height * scale));
                return new Placement(width, height, (w - rw) / 2, (h - rh) / 2, rw, rh);
            }
            default:
                throw new ImageRejectedException(
                        ReasonCode.BAD_REQUEST,
                        "model input " + spec.name() + " has unknown resize policy '" + policy + "'");
        }
    }

    private static RgbImage resize(RgbImage coloured, TensorSpec spec, Placement placement) {
        int w = spec.resize().width();
        int h = spec.resize().height();
        if (placement.left() == 0 && placement.top() == 0 && placement.width() == w && placement.height() == h) {
            return Resampler.resize(coloured, w, h);
        }
        if (placement.left() <= 0 && placement.top() <= 0 && placement.width() >= w && placement.height() >= h) {
            // A crop (the scaled image covers the input): only the rows and columns it keeps are
            // resampled. A letterbox with a single row or column of padding lands below, not here.
            return Resampler.resizeRegion(
                    coloured, placement.width(), placement.height(), -placement.left(), -placement.top(), w, h);
        }
        RgbImage resized = Resampler.resize(coloured, placement.width(), placement.height());
        int c = resized.channels();
        int rw = placement.width();
        byte[] out = new byte[w * h * c];
        Integer pad = spec.resize().padValue();
        Arrays.fill(out, (byte) (pad == null ? 0 : pad));
        for (int y = 0; y < placement.height(); y++) {
            System.arraycopy(
                    resized.pixels(), y * rw * c, out, ((placement.top() + y) * w + placement.left()) * c, rw * c);
        }
        return new RgbImage(w, h, c, out);
    }

    /**
     * Makes the input tensor for one image.
     *
     * @param preferUint8 send UINT8 pixels when the model accepts them (normalisation then happens
     *     in the scoring service), to cut bytes on the wire
     */
    public static PreparedTensor prepare(RgbImage image, TensorSpec spec, boolean preferUint8)
            throws ImageRejectedException {
        RgbImage coloured = spec.channels() == 1 ? image.toGrey() : image.toRgb();
        Placement placement = placement(coloured.width(), coloured.height(), spec);
        RgbImage sized = resize(coloured, spec, placement);
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
        return new PreparedTensor(spec.name(), uint8 ? "UINT8" : "FP32", shape, out.array(), placement);
    }
}
