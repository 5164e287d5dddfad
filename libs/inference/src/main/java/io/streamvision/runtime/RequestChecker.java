package io.streamvision.runtime;

import io.streamvision.model.ModelConfig.TensorSpec;
import io.streamvision.proto.inference.InferTensorContents;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferRequest.InferInputTensor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks one Open Inference Protocol request against a model's config before anything is copied:
 * input count and names, shapes (fixed dimensions must match, the batch dimension must be at least
 * one and the same for every input), datatypes the model can take, and the byte count of raw
 * contents. What it returns points at the request's own data; {@link InputConverter} copies it
 * into the batch.
 */
final class RequestChecker {

    private RequestChecker() {}

    /**
     * One input of a checked request, in the model's input order.
     *
     * @param raw the raw contents (little-endian), or null when the data is in typed contents
     */
    record Input(TensorSpec spec, InferInputTensor tensor, long[] shape, long elements, ByteBuffer raw) {

        /** Bytes this input takes in the model's datatype. */
        long bytes() {
            return elements * Datatypes.size(spec.datatype());
        }
    }

    /**
     * A request that passed every check.
     *
     * @param shapeKey the non-batch dimensions of every input: only requests with equal keys
     *     share a batch
     */
    record Checked(ModelInferRequest request, long rows, Input[] inputs, List<Long> shapeKey) {}

    static Checked check(LoadedModel model, ModelInferRequest request) throws InferenceException {
        List<TensorSpec> specs = model.config().inputs();
        String who = "model " + model.name() + " v" + model.version();
        if (request.getInputsCount() != specs.size()) {
            throw InferenceException.invalid(who
                    + " takes "
                    + specs.size()
                    + " input(s) "
                    + specs.stream().map(TensorSpec::name).toList()
                    + ", request has "
                    + request.getInputsCount());
        }
        boolean raw = request.getRawInputContentsCount() > 0;
        if (raw && request.getRawInputContentsCount() != request.getInputsCount()) {
            throw InferenceException.invalid("request has "
                    + request.getRawInputContentsCount()
                    + " raw_input_contents entries for "
                    + request.getInputsCount()
                    + " inputs");
        }
        Input[] inputs = new Input[specs.size()];
        long rows = -1;
        for (int i = 0; i < specs.size(); i++) {
            InferInputTensor input = request.getInputs(i);
            int specIndex = indexOf(specs, input.getName());
            if (specIndex < 0) {
                throw InferenceException.invalid("input '"
                        + input.getName()
                        + "' is not an input of "
                        + who
                        + "; its inputs are "
                        + specs.stream().map(TensorSpec::name).toList());
            }
            TensorSpec spec = specs.get(specIndex);
            long[] shape = new long[input.getShapeCount()];
            for (int d = 0; d < shape.length; d++) {
                shape[d] = input.getShape(d);
            }
            checkShape(spec, shape, who);
            if (rows >= 0 && rows != shape[0]) {
                throw InferenceException.invalid(
                        "inputs disagree on the batch size (" + rows + " vs " + shape[0] + ")");
            }
            rows = shape[0];
            if (raw && hasTyped(input.getContents())) {
                throw InferenceException.invalid(
                        "input '" + spec.name() + "' sets both raw_input_contents and typed contents; use one");
            }
            long elements = 1;
            for (long d : shape) {
                elements *= d;
            }
            ByteBuffer bytes = raw ? request.getRawInputContents(i).asReadOnlyByteBuffer() : null;
            if (bytes != null) {
                long expect = elements * sizeOf(input.getDatatype(), spec.name());
                if (bytes.remaining() != expect) {
                    throw InferenceException.invalid("input '"
                            + spec.name()
                            + "' is "
                            + input.getDatatype()
                            + " "
                            + input.getShapeList()
                            + ", which is "
                            + expect
                            + " bytes, but raw contents have "
                            + bytes.remaining());
                }
            }
            InputConverter.checkDatatypes(spec, input.getDatatype(), bytes != null);
            inputs[specIndex] = new Input(spec, input, shape, elements, bytes);
        }
        List<Long> key = new ArrayList<>();
        for (Input input : inputs) {
            for (int d = 1; d < input.shape().length; d++) {
                key.add(input.shape()[d]);
            }
            key.add(-1L); // separates the inputs
        }
        return new Checked(request, rows, inputs, key);
    }

    private static int indexOf(List<TensorSpec> specs, String name) {
        for (int i = 0; i < specs.size(); i++) {
            if (specs.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    private static void checkShape(TensorSpec spec, long[] shape, String who) throws InferenceException {
        long[] want = spec.shape();
        String mismatch = "input '"
                + spec.name()
                + "' has shape "
                + Arrays.toString(shape)
                + ", "
                + who
                + " expects "
                + Arrays.toString(want);
        if (shape.length != want.length) {
            throw InferenceException.invalid(mismatch);
        }
        for (int d = 1; d < shape.length; d++) {
            if (want[d] >= 0 && shape[d] != want[d]) {
                throw InferenceException.invalid(mismatch + " (dimension " + d + ")");
            }
        }
        if (shape.length == 0 || shape[0] < 1) {
            throw InferenceException.invalid(
                    "input '" + spec.name() + "' has batch size " + (shape.length == 0 ? "none" : shape[0]));
        }
    }

    private static boolean hasTyped(InferTensorContents c) {
        return c.getFp32ContentsCount() > 0
                || c.getInt64ContentsCount() > 0
                || c.getUintContentsCount() > 0
                || c.getIntContentsCount() > 0
                || c.getFp64ContentsCount() > 0
                || c.getBoolContentsCount() > 0
                || c.getUint64ContentsCount() > 0
                || c.getBytesContentsCount() > 0;
    }

    private static int sizeOf(String datatype, String name) throws InferenceException {
        try {
            return Datatypes.size(datatype);
        } catch (IllegalArgumentException e) {
            throw InferenceException.invalid("input '" + name + "' has unsupported datatype '" + datatype + "'");
        }
    }
}
