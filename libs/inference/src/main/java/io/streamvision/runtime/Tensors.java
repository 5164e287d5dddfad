package io.streamvision.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Builds ONNX Runtime tensors over direct buffers, never over multi-dimensional Java arrays. */
public final class Tensors {

    private Tensors() {}

    /**
     * The FP32 values of OIP raw contents (little-endian), or the first {@code count} of them.
     *
     * @throws IllegalArgumentException when the contents hold fewer than {@code count} values or
     *     are not a whole number of floats
     */
    public static float[] floats(ByteString raw, int count) {
        if (raw.size() % Float.BYTES != 0 || raw.size() / Float.BYTES < count) {
            throw new IllegalArgumentException(
                    "raw FP32 contents of " + raw.size() + " bytes do not hold " + count + " values");
        }
        float[] values = new float[count];
        raw.asReadOnlyByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(values);
        return values;
    }

    /** All FP32 values of OIP raw contents (little-endian). */
    public static float[] floats(ByteString raw) {
        return floats(raw, raw.size() / Float.BYTES);
    }

    /** A direct little-endian buffer of {@code bytes} bytes. */
    public static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    /**
     * A tensor over little-endian raw bytes (OIP raw contents), copied once into a direct buffer in
     * native order.
     */
    public static OnnxTensor fromRaw(OrtEnvironment env, String datatype, long[] shape, ByteBuffer littleEndian)
            throws OrtException {
        ByteBuffer buffer = direct(littleEndian.remaining());
        ByteBuffer src = littleEndian.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN || Datatypes.size(datatype) == 1) {
            buffer.put(src);
        } else {
            throw new UnsupportedOperationException("big-endian hosts are not supported");
        }
        buffer.flip();
        return create(env, datatype, shape, buffer);
    }

    /**
     * A tensor over a direct buffer in native order (not copied; keep it alive while the tensor is
     * used).
     */
    public static OnnxTensor create(OrtEnvironment env, String datatype, long[] shape, ByteBuffer direct)
            throws OrtException {
        return switch (datatype) {
            case "FP32" -> OnnxTensor.createTensor(env, direct.asFloatBuffer(), shape);
            case "FP64" -> OnnxTensor.createTensor(env, direct.asDoubleBuffer(), shape);
            case "INT64" -> OnnxTensor.createTensor(env, direct.asLongBuffer(), shape);
            case "INT32" -> OnnxTensor.createTensor(env, direct.asIntBuffer(), shape);
            case "INT16" -> OnnxTensor.createTensor(env, direct.asShortBuffer(), shape);
            default -> OnnxTensor.createTensor(env, direct, shape, Datatypes.toOnnx(datatype));
        };
    }

    /** An all-zero tensor. */
    public static OnnxTensor zeros(OrtEnvironment env, String datatype, long[] shape) throws OrtException {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return create(env, datatype, shape, direct((int) (n * Datatypes.size(datatype))));
    }
}
