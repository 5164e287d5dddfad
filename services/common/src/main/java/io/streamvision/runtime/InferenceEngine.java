package io.streamvision.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import io.streamvision.model.ModelConfig.TensorSpec;
import io.streamvision.proto.inference.InferTensorContents;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferRequest.InferInputTensor;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs Open Inference Protocol requests on a loaded model, many requests in one batch: each request
 * is checked on its own (a bad one fails alone), the good ones are stacked along the batch
 * dimension into direct buffers, the model runs once, and every request gets exactly its own rows
 * back. UINT8 pixels are normalised with the config's scale, mean and std when the model's input
 * accepts them; FP16 is widened to FP32 for FP32 inputs.
 *
 * <p>Thread-safe (stateless; sessions are thread-safe).
 */
public final class InferenceEngine {

    /** The result for one request: a response or the reason it failed. */
    public record Outcome(ModelInferResponse response, InferenceException error) {
        public boolean ok() {
            return error == null;
        }
    }

    private final OnnxRuntime runtime;

    public InferenceEngine(OnnxRuntime runtime) {
        this.runtime = runtime;
    }

    /** Decoded, checked input of one request: per input, FP-converted little-endian bytes. */
    private record Checked(ModelInferRequest request, long rows, ByteBuffer[] inputs) {}

    /** Runs a batch of requests for one model; the outcome list matches the request list. */
    public List<Outcome> infer(LoadedModel model, List<ModelInferRequest> requests) {
        Outcome[] outcomes = new Outcome[requests.size()];
        List<Checked> good = new ArrayList<>();
        List<Integer> goodIndex = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            try {
                good.add(check(model, requests.get(i)));
                goodIndex.add(i);
            } catch (InferenceException e) {
                outcomes[i] = new Outcome(null, e);
            }
        }
        // Triton's rule: only requests whose inputs have the same non-batch dimensions share a
        // batch; a model with a variable dimension runs one batch per shape.
        Map<List<Long>, List<Integer>> byShape = new LinkedHashMap<>();
        for (int j = 0; j < good.size(); j++) {
            byShape.computeIfAbsent(shapeKey(model, good.get(j).request()), k -> new ArrayList<>())
                    .add(j);
        }
        for (List<Integer> group : byShape.values()) {
            List<Checked> batch = group.stream().map(good::get).toList();
            List<Outcome> ran = run(model, batch);
            for (int j = 0; j < ran.size(); j++) {
                outcomes[goodIndex.get(group.get(j))] = ran.get(j);
            }
        }
        return Arrays.asList(outcomes);
    }

    /** The non-batch dimensions of every input, in the model's input order. */
    private static List<Long> shapeKey(LoadedModel model, ModelInferRequest request) {
        List<Long> key = new ArrayList<>();
        for (TensorSpec spec : model.config().inputs()) {
            for (InferInputTensor input : request.getInputsList()) {
                if (input.getName().equals(spec.name())) {
                    key.addAll(input.getShapeList().subList(Math.min(1, input.getShapeCount()), input.getShapeCount()));
                    key.add(-1L); // separates the inputs
                }
            }
        }
        return key;
    }

    private Checked check(LoadedModel model, ModelInferRequest request) throws InferenceException {
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
        ByteBuffer[] buffers = new ByteBuffer[specs.size()];
        long rows = -1;
        for (int i = 0; i < specs.size(); i++) {
            InferInputTensor input = request.getInputs(i);
            TensorSpec spec = specs.stream()
                    .filter(s -> s.name().equals(input.getName()))
                    .findFirst()
                    .orElseThrow(() -> InferenceException.invalid("input '"
                            + input.getName()
                            + "' is not an input of "
                            + who
                            + "; its inputs are "
                            + specs.stream().map(TensorSpec::name).toList()));
            int specIndex = specs.indexOf(spec);
            long[] shape =
                    input.getShapeList().stream().mapToLong(Long::longValue).toArray();
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
            if (shape[0] < 1) {
                throw InferenceException.invalid("input '" + spec.name() + "' has batch size " + shape[0]);
            }
            if (rows >= 0 && rows != shape[0]) {
                throw InferenceException.invalid(
                        "inputs disagree on the batch size (" + rows + " vs " + shape[0] + ")");
            }
            rows = shape[0];
            if (raw && hasTyped(input.getContents())) {
                throw InferenceException.invalid(
                        "input '" + spec.name() + "' sets both raw_input_contents and typed contents; use one");
            }
            long elements = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            buffers[specIndex] =
                    convert(spec, input, raw ? request.getRawInputContents(i).asReadOnlyByteBuffer() : null, elements);
        }
        return new Checked(request, rows, buffers);
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

    /** Turns the request's data for one input into little-endian bytes of the model's datatype. */
    private static ByteBuffer convert(TensorSpec spec, InferInputTensor input, ByteBuffer raw, long elements)
            throws InferenceException {
        String given = input.getDatatype();
        String want = spec.datatype();
        String name = spec.name();
        if (raw != null) {
            long expectBytes = elements * sizeOf(given, name);
            if (raw.remaining() != expectBytes) {
                throw InferenceException.invalid("input '"
                        + name
                        + "' is "
                        + given
                        + " "
                        + input.getShapeList()
                        + ", which is "
                        + expectBytes
                        + " bytes, but raw contents have "
                        + raw.remaining());
            }
            raw = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        InferTensorContents c = input.getContents();
        ByteBuffer out =
                ByteBuffer.allocate((int) (elements * Datatypes.size(want))).order(ByteOrder.LITTLE_ENDIAN);
        if (want.equals("FP32")) {
            switch (given) {
                case "FP32" -> {
                    if (raw == null) {
                        requireCount(name, c.getFp32ContentsCount(), elements, "fp32_contents");
                        c.getFp32ContentsList().forEach(out::putFloat);
                    } else {
                        out.put(raw);
                    }
                }
                case "FP16" -> {
                    if (raw == null) {
                        throw InferenceException.invalid(
                                "input '" + name + "' is FP16, which travels as raw bytes only");
                    }
                    for (long k = 0; k < elements; k++) {
                        out.putFloat(Halves.toFloat(raw.getShort()));
                    }
                }
                case "UINT8" -> {
                    if (!Boolean.TRUE.equals(spec.acceptsUint8())) {
                        throw InferenceException.invalid(
                                "input '" + name + "' must be FP32; this model does not accept" + " UINT8 pixels");
                    }
                    normaliseUint8(spec, input, raw, c, elements, out);
                }
                default -> throw InferenceException.invalid("input '" + name + "' is " + given + ", model wants FP32");
            }
            out.flip();
            checkFinite(name, out.duplicate().order(ByteOrder.LITTLE_ENDIAN));
            return out;
        }
        if (!given.equals(want)) {
            throw InferenceException.invalid("input '" + name + "' is " + given + ", model wants " + want);
        }
        if (raw != null) {
            out.put(raw);
        } else if (want.equals("INT64")) {
            requireCount(name, c.getInt64ContentsCount(), elements, "int64_contents");
            c.getInt64ContentsList().forEach(out::putLong);
        } else if (want.equals("UINT8")) {
            requireCount(name, c.getUintContentsCount(), elements, "uint_contents");
            c.getUintContentsList().forEach(v -> out.put((byte) (int) v));
        } else if (want.equals("INT32")) {
            requireCount(name, c.getIntContentsCount(), elements, "int_contents");
            c.getIntContentsList().forEach(out::putInt);
        } else {
            throw InferenceException.invalid("input '" + name + "' of type " + want + " needs raw contents");
        }
        out.flip();
        return out;
    }

    private static void normaliseUint8(
            TensorSpec spec,
            InferInputTensor input,
            ByteBuffer raw,
            InferTensorContents c,
            long elements,
            ByteBuffer out)
            throws InferenceException {
        if (raw == null) {
            requireCount(spec.name(), c.getUintContentsCount(), elements, "uint_contents");
        }
        List<Long> shape = input.getShapeList();
        boolean nhwc = "NHWC".equalsIgnoreCase(spec.layout());
        int channels = (int) (long) (nhwc ? shape.get(shape.size() - 1) : shape.get(1));
        long plane = nhwc ? 1 : elements / shape.get(0) / channels;
        double scale = spec.scale() == null ? 255.0 : spec.scale();
        for (long k = 0; k < elements; k++) {
            int v = raw != null ? raw.get() & 0xFF : c.getUintContents((int) k);
            int ch = (int) (nhwc ? k % channels : (k / plane) % channels);
            float mean = spec.mean() == null ? 0f : spec.mean()[Math.min(ch, spec.mean().length - 1)];
            float std = spec.std() == null ? 1f : spec.std()[Math.min(ch, spec.std().length - 1)];
            out.putFloat((float) ((v / scale - mean) / std));
        }
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

    private static void checkFinite(String name, ByteBuffer floats) throws InferenceException {
        while (floats.remaining() >= 4) {
            float f = floats.getFloat();
            if (!Float.isFinite(f)) {
                throw new InferenceException(
                        InferenceException.Kind.INVALID_ARGUMENT,
                        ReasonCode.NON_FINITE_VALUES,
                        "input '" + name + "' holds a NaN or infinite value");
            }
        }
    }

    private static int sizeOf(String datatype, String name) throws InferenceException {
        try {
            return Datatypes.size(datatype);
        } catch (IllegalArgumentException e) {
            throw InferenceException.invalid("input '" + name + "' has unsupported datatype '" + datatype + "'");
        }
    }

    private List<Outcome> run(LoadedModel model, List<Checked> batch) {
        List<TensorSpec> specs = model.config().inputs();
        long totalRows = batch.stream().mapToLong(Checked::rows).sum();
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        List<Outcome> outcomes = new ArrayList<>(batch.size());
        try {
            for (int i = 0; i < specs.size(); i++) {
                TensorSpec spec = specs.get(i);
                int bytes = 0;
                for (Checked c : batch) {
                    bytes += c.inputs()[i].remaining();
                }
                ByteBuffer stacked = Tensors.direct(bytes);
                for (Checked c : batch) {
                    stacked.put(c.inputs()[i].duplicate());
                }
                stacked.flip();
                long[] shape = batchShape(spec, batch.get(0).request(), totalRows, bytes);
                inputs.put(spec.name(), Tensors.create(runtime.environment(), spec.datatype(), shape, stacked));
            }
            List<String> outputNames =
                    model.config().outputs().stream().map(TensorSpec::name).toList();
            try (OrtSession.Result result = model.run(inputs, outputNames)) {
                // OnnxTensor.getByteBuffer() copies the whole tensor: once per output and batch,
                // and each request's rows are sliced from that copy.
                Map<String, ByteBuffer> outputs = new HashMap<>();
                long row = 0;
                for (Checked c : batch) {
                    outcomes.add(new Outcome(slice(model, c, result, outputNames, outputs, row), null));
                    row += c.rows();
                }
            }
        } catch (OrtException | RuntimeException e) {
            InferenceException failure = new InferenceException(
                    InferenceException.Kind.INTERNAL,
                    ReasonCode.INFERENCE_FAILED,
                    "model " + model.name() + " v" + model.version() + " failed: " + e.getMessage());
            outcomes.clear();
            batch.forEach(c -> outcomes.add(new Outcome(null, failure)));
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
        return outcomes;
    }

    private static long[] batchShape(TensorSpec spec, ModelInferRequest first, long rows, int bytes) {
        InferInputTensor input = first.getInputsList().stream()
                .filter(t -> t.getName().equals(spec.name()))
                .findFirst()
                .orElseThrow();
        long[] shape = input.getShapeList().stream().mapToLong(Long::longValue).toArray();
        shape[0] = rows;
        return shape;
    }

    private static ModelInferResponse slice(
            LoadedModel model,
            Checked c,
            OrtSession.Result result,
            List<String> outputNames,
            Map<String, ByteBuffer> outputs,
            long firstRow) {
        ModelInferResponse.Builder response = ModelInferResponse.newBuilder()
                .setModelName(model.name())
                .setModelVersion(Integer.toString(model.version()))
                .setId(c.request().getId());
        List<String> wanted = c.request().getOutputsCount() == 0
                ? outputNames
                : c.request().getOutputsList().stream()
                        .map(ModelInferRequest.InferRequestedOutputTensor::getName)
                        .filter(outputNames::contains)
                        .toList();
        for (String name : wanted) {
            OnnxValue value = result.get(name).orElseThrow();
            OnnxTensor tensor = (OnnxTensor) value;
            long[] shape = tensor.getInfo().getShape();
            String datatype = Datatypes.fromOnnx(tensor.getInfo().type);
            int size = Datatypes.size(datatype);
            long rowElements = 1;
            for (int d = 1; d < shape.length; d++) {
                rowElements *= shape[d];
            }
            ByteBuffer all =
                    outputs.computeIfAbsent(name, n -> tensor.getByteBuffer().order(ByteOrder.nativeOrder()));
            int from = (int) (firstRow * rowElements * size);
            int len = (int) (c.rows() * rowElements * size);
            ByteBuffer mine = all.duplicate();
            mine.position(from).limit(from + len);
            long[] outShape = shape.clone();
            outShape[0] = c.rows();
            response.addOutputsBuilder()
                    .setName(name)
                    .setDatatype(datatype)
                    .addAllShape(Arrays.stream(outShape).boxed().toList());
            response.addRawOutputContents(ByteString.copyFrom(mine));
        }
        return response.build();
    }
}
