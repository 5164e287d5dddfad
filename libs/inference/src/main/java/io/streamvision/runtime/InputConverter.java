package io.streamvision.runtime;

import io.streamvision.model.ModelConfig.TensorSpec;
import io.streamvision.proto.inference.InferTensorContents;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;

/**
 * Writes one checked input straight into the batch's direct buffer in the model's datatype: the
 * request's bytes are copied once, with no intermediate buffer. FP32 raw contents are a bulk copy;
 * FP16 is widened to FP32; UINT8 pixels are normalised with the config's scale, mean and std (a
 * per-channel table of the 256 possible values, so each pixel is one look-up); typed contents are
 * written value by value. FP32 data is checked for NaN and infinities as written.
 */
final class InputConverter {

    /** Datatypes other than FP32 that may travel in typed contents. */
    private static final Set<String> TYPED = Set.of("INT64", "UINT8", "INT32");

    private InputConverter() {}

    /** Refuses a datatype the model's input cannot take, before anything is copied. */
    static void checkDatatypes(TensorSpec spec, String given, boolean raw) throws InferenceException {
        String want = spec.datatype();
        String name = spec.name();
        if (want.equals("FP32")) {
            switch (given) {
                case "FP32" -> {}
                case "FP16" -> {
                    if (!raw) {
                        throw InferenceException.invalid(
                                "input '" + name + "' is FP16, which travels as raw bytes only");
                    }
                }
                case "UINT8" -> {
                    if (!Boolean.TRUE.equals(spec.acceptsUint8())) {
                        throw InferenceException.invalid(
                                "input '" + name + "' must be FP32; this model does not accept" + " UINT8 pixels");
                    }
                }
                default -> throw InferenceException.invalid("input '" + name + "' is " + given + ", model wants FP32");
            }
            return;
        }
        if (!given.equals(want)) {
            throw InferenceException.invalid("input '" + name + "' is " + given + ", model wants " + want);
        }
        if (!raw && !TYPED.contains(want)) {
            throw InferenceException.invalid("input '" + name + "' of type " + want + " needs raw contents");
        }
    }

    /**
     * Appends the input's data at {@code out}'s position (native order, which is little-endian on
     * every supported host); on failure the position is left anywhere and the caller rewinds.
     */
    static void write(LoadedModel model, RequestChecker.Input input, ByteBuffer out) throws InferenceException {
        TensorSpec spec = input.spec();
        String given = input.tensor().getDatatype();
        String name = spec.name();
        long elements = input.elements();
        ByteBuffer raw = input.raw() == null ? null : input.raw().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        InferTensorContents c = input.tensor().getContents();
        if (spec.datatype().equals("FP32")) {
            int start = out.position();
            switch (given) {
                case "FP32" -> {
                    if (raw == null) {
                        requireCount(name, c.getFp32ContentsCount(), elements, "fp32_contents");
                        for (int k = 0; k < elements; k++) {
                            out.putFloat(c.getFp32Contents(k));
                        }
                    } else {
                        out.put(raw);
                    }
                }
                case "FP16" -> {
                    for (long k = 0; k < elements; k++) {
                        out.putFloat(Halves.toFloat(raw.getShort()));
                    }
                }
                case "UINT8" -> {
                    if (normaliseUint8(model, input, raw, c, out)) {
                        return; // every value came from a finite table entry
                    }
                }
                default -> throw new IllegalStateException("unchecked datatype " + given);
            }
            checkFinite(name, out, start, out.position());
            return;
        }
        if (raw != null) {
            out.put(raw);
            return;
        }
        switch (spec.datatype()) {
            case "INT64" -> {
                requireCount(name, c.getInt64ContentsCount(), elements, "int64_contents");
                for (int k = 0; k < elements; k++) {
                    out.putLong(c.getInt64Contents(k));
                }
            }
            case "UINT8" -> {
                requireCount(name, c.getUintContentsCount(), elements, "uint_contents");
                for (int k = 0; k < elements; k++) {
                    out.put((byte) c.getUintContents(k));
                }
            }
            case "INT32" -> {
                requireCount(name, c.getIntContentsCount(), elements, "int_contents");
                for (int k = 0; k < elements; k++) {
                    out.putInt(c.getIntContents(k));
                }
            }
            default -> throw new IllegalStateException("unchecked datatype " + spec.datatype());
        }
    }

    /**
     * UINT8 pixels to normalised FP32: {@code ((v / scale) - mean[c]) / std[c]} per channel.
     *
     * @return whether every entry of the normalisation table is finite, so that no value written can
     *     be NaN or infinite and the caller need not check the output (a zero {@code std} in a
     *     model's configuration would make some entries infinite)
     */
    private static boolean normaliseUint8(
            LoadedModel model, RequestChecker.Input input, ByteBuffer raw, InferTensorContents c, ByteBuffer out)
            throws InferenceException {
        TensorSpec spec = input.spec();
        long elements = input.elements();
        if (raw == null) {
            requireCount(spec.name(), c.getUintContentsCount(), elements, "uint_contents");
        }
        long[] shape = input.shape();
        boolean nhwc = "NHWC".equalsIgnoreCase(spec.layout());
        int channels = (int) (nhwc ? shape[shape.length - 1] : shape[1]);
        long plane = nhwc ? 1 : elements / shape[0] / channels;
        float[][] table = model.normalisation(spec, channels);
        // Values come in runs of one channel (a plane in NCHW, one value in NHWC), channel after
        // channel, every row starting at channel 0: follow the runs instead of dividing per value.
        int ch = 0;
        long left = plane;
        float[] normalised = table[0];
        for (long k = 0; k < elements; k++) {
            int v = raw != null ? raw.get() & 0xFF : c.getUintContents((int) k) & 0xFF;
            out.putFloat(normalised[v]);
            if (--left == 0) {
                left = plane;
                ch = ch + 1 == channels ? 0 : ch + 1;
                normalised = table[ch];
            }
        }
        for (float[] channel : table) {
            for (float value : channel) {
                if (!Float.isFinite(value)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static void requireCount(String name, int count, long elements, String field) throws InferenceException {
        if (count != elements) {
            throw InferenceException.invalid("input '"
                    + name
                    + "' needs "
                    + elements
                    + " values in "
                    + field
                    + " (or raw contents), got "
                    + count);
        }
    }

    private static void checkFinite(String name, ByteBuffer buffer, int from, int to) throws InferenceException {
        for (int at = from; at + 4 <= to; at += 4) {
            // All exponent bits set: NaN or an infinity.
            if ((buffer.getInt(at) & 0x7F800000) == 0x7F800000) {
                throw new InferenceException(
                        InferenceException.Kind.INVALID_ARGUMENT,
                        ReasonCode.NON_FINITE_VALUES,
                        "input '" + name + "' holds a NaN or infinite value");
            }
        }
    }
}
