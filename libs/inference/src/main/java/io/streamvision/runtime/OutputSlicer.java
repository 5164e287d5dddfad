package io.streamvision.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.UnsafeByteOperations;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Gives each request of a batch exactly its own rows of the batch's outputs. Each output tensor
 * is copied out of ONNX Runtime once per batch ({@code OnnxTensor.getByteBuffer()} returns a fresh
 * heap copy), and every response wraps its slice of that copy without copying again: the copy
 * belongs to this batch alone and is never written after.
 *
 * <p>Not thread-safe: one instance per batch.
 */
final class OutputSlicer {

    private static final Logger LOG = Logger.getLogger(OutputSlicer.class);

    private record Output(String datatype, long[] shape, long rowBytes, ByteBuffer data) {}

    private final LoadedModel model;
    private final OrtSession.Result result;
    private final List<String> outputNames;
    private final Map<String, Output> copied = new HashMap<>();
    private final Map<String, ByteBuffer> inputs;
    private final long batchRows;

    /**
     * @param inputs the batch's input tensors as the model was fed them (native order), for an
     *     out-of-domain score that reads the input
     * @param batchRows rows in the batch
     */
    OutputSlicer(
            LoadedModel model,
            OrtSession.Result result,
            List<String> outputNames,
            Map<String, ByteBuffer> inputs,
            long batchRows) {
        this.model = model;
        this.result = result;
        this.outputNames = outputNames;
        this.inputs = inputs;
        this.batchRows = batchRows;
    }

    /** The response to {@code request}, whose rows start at {@code firstRow} of the batch. */
    ModelInferResponse slice(ModelInferRequest request, long rows, long firstRow) {
        ModelInferResponse.Builder response = ModelInferResponse.newBuilder()
                .setModelName(model.name())
                .setModelVersion(Integer.toString(model.version()))
                .setId(request.getId());
        List<String> wanted = request.getOutputsCount() == 0
                ? outputNames
                : request.getOutputsList().stream()
                        .map(ModelInferRequest.InferRequestedOutputTensor::getName)
                        .filter(outputNames::contains)
                        .toList();
        for (String name : wanted) {
            Output output = copied.computeIfAbsent(name, this::copy);
            int from = (int) (firstRow * output.rowBytes());
            int len = (int) (rows * output.rowBytes());
            ByteBuffer mine = output.data().duplicate();
            mine.position(from).limit(from + len);
            ModelInferResponse.InferOutputTensor.Builder tensor =
                    response.addOutputsBuilder().setName(name).setDatatype(output.datatype());
            tensor.addShape(rows);
            for (int d = 1; d < output.shape().length; d++) {
                tensor.addShape(output.shape()[d]);
            }
            response.addRawOutputContents(UnsafeByteOperations.unsafeWrap(mine));
        }
        DomainScore domain = model.domain();
        if (domain != null && rows == 1) {
            try {
                float[] input = domain.input() == null ? null : inputRow(domain.input(), firstRow);
                domain.putInto(response, domain.score(row(domain.output(), firstRow), input));
            } catch (RuntimeException e) {
                // A score that cannot be computed leaves the answer without one; it never fails the batch.
                LOG.warnf("Model %s v%d: no out-of-domain score: %s", model.name(), model.version(), e.getMessage());
            }
        }
        return response.build();
    }

    /** One row of an FP32 input as the model was fed it. */
    private float[] inputRow(String name, long index) {
        ByteBuffer data = inputs.get(name);
        int rowBytes = (int) (data.limit() / batchRows);
        float[] row = new float[rowBytes / Float.BYTES];
        ByteBuffer mine = data.duplicate().order(data.order());
        mine.position((int) (index * rowBytes));
        mine.asFloatBuffer().get(row);
        return row;
    }

    /** One row of an FP32 output. */
    private float[] row(String name, long index) {
        Output output = copied.computeIfAbsent(name, this::copy);
        int values = (int) (output.rowBytes() / Float.BYTES);
        float[] row = new float[values];
        ByteBuffer data = output.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        data.position((int) (index * output.rowBytes()));
        data.asFloatBuffer().get(row);
        return row;
    }

    private Output copy(String name) {
        OnnxTensor tensor = (OnnxTensor) result.get(name).orElseThrow();
        long[] shape = tensor.getInfo().getShape();
        String datatype = Datatypes.fromOnnx(tensor.getInfo().type);
        long rowElements = 1;
        for (int d = 1; d < shape.length; d++) {
            rowElements *= shape[d];
        }
        return new Output(datatype, shape, rowElements * Datatypes.size(datatype), tensor.getByteBuffer());
    }
}
