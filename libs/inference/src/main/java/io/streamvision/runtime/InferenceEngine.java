package io.streamvision.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelConfig.TensorSpec;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs Open Inference Protocol requests on a loaded model, many requests in one batch, in three
 * steps: {@link RequestChecker} checks each request on its own (a bad one fails alone), {@link
 * InputConverter} writes the good ones along the batch dimension straight into direct buffers
 * (one copy of the request's bytes; FP16 widened, UINT8 pixels normalised), the model runs once,
 * and {@link OutputSlicer} gives every request exactly its own rows back. Following Triton, only
 * requests whose non-batch dimensions are equal share a run: a model with a variable dimension runs
 * one batch per shape.
 *
 * <p>Thread-safe (stateless; sessions are thread-safe). The {@link BatchBuffers} passed in belong
 * to the calling worker.
 */
public final class InferenceEngine {

    /**
     * The result for one request: a response or the reason it failed, and the config of the model
     * version that ran it (null when none did).
     */
    public record Outcome(ModelInferResponse response, InferenceException error, ModelConfig model) {

        public Outcome(ModelInferResponse response, InferenceException error) {
            this(response, error, null);
        }

        public boolean ok() {
            return error == null;
        }
    }

    private final ModelLoader runtime;

    public InferenceEngine(ModelLoader runtime) {
        this.runtime = runtime;
    }

    /** Runs a batch of requests for one model; the outcome list matches the request list. */
    public List<Outcome> infer(LoadedModel model, List<ModelInferRequest> requests) {
        return infer(model, requests, new BatchBuffers());
    }

    /** As {@link #infer(LoadedModel, List)}, writing the batch into the worker's own buffers. */
    public List<Outcome> infer(LoadedModel model, List<ModelInferRequest> requests, BatchBuffers buffers) {
        buffers.resetTimings();
        Outcome[] outcomes = new Outcome[requests.size()];
        Map<List<Long>, List<Integer>> byShape = new LinkedHashMap<>();
        RequestChecker.Checked[] checked = new RequestChecker.Checked[requests.size()];
        for (int i = 0; i < requests.size(); i++) {
            try {
                checked[i] = RequestChecker.check(model, requests.get(i));
                byShape.computeIfAbsent(checked[i].shapeKey(), k -> new ArrayList<>())
                        .add(i);
            } catch (InferenceException e) {
                outcomes[i] = new Outcome(null, e, model.config());
            }
        }
        for (List<Integer> group : byShape.values()) {
            run(model, checked, group, outcomes, buffers);
        }
        return Arrays.asList(outcomes);
    }

    /** Runs one group of requests of equal shape, filling in their outcomes. */
    private void run(
            LoadedModel model,
            RequestChecker.Checked[] checked,
            List<Integer> group,
            Outcome[] outcomes,
            BatchBuffers buffers) {
        long started = System.nanoTime();
        List<TensorSpec> specs = model.config().inputs();
        ByteBuffer[] stacked = new ByteBuffer[specs.size()];
        for (int i = 0; i < specs.size(); i++) {
            long bytes = 0;
            for (int r : group) {
                bytes += checked[r].inputs()[i].bytes();
            }
            stacked[i] = buffers.forInput(i, bytes);
        }
        // Each request is written into every input buffer; one that fails conversion (a NaN, a
        // short typed list) is rolled back and answered alone.
        List<Integer> written = new ArrayList<>(group.size());
        long rows = 0;
        int[] marks = new int[stacked.length];
        for (int r : group) {
            for (int i = 0; i < stacked.length; i++) {
                marks[i] = stacked[i].position();
            }
            try {
                for (int i = 0; i < stacked.length; i++) {
                    InputConverter.write(model, checked[r].inputs()[i], stacked[i]);
                }
                written.add(r);
                rows += checked[r].rows();
            } catch (InferenceException e) {
                for (int i = 0; i < stacked.length; i++) {
                    stacked[i].position(marks[i]);
                }
                outcomes[r] = new Outcome(null, e, model.config());
            }
        }
        if (written.isEmpty()) {
            buffers.addTimings(System.nanoTime() - started, 0, 0);
            return;
        }
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        long running = 0;
        long sliced = 0;
        try {
            for (int i = 0; i < specs.size(); i++) {
                long[] shape = checked[written.get(0)].inputs()[i].shape().clone();
                shape[0] = rows;
                stacked[i].flip();
                inputs.put(
                        specs.get(i).name(),
                        Tensors.create(runtime.environment(), specs.get(i).datatype(), shape, stacked[i]));
            }
            List<String> outputNames =
                    model.config().outputs().stream().map(TensorSpec::name).toList();
            Map<String, ByteBuffer> fed = new LinkedHashMap<>();
            for (int i = 0; i < specs.size(); i++) {
                fed.put(specs.get(i).name(), stacked[i].duplicate().order(ByteOrder.nativeOrder()));
            }
            running = System.nanoTime();
            try (OrtSession.Result result = model.run(inputs, outputNames)) {
                sliced = System.nanoTime();
                OutputSlicer slicer = new OutputSlicer(model, result, outputNames, fed, rows);
                long row = 0;
                for (int r : written) {
                    RequestChecker.Checked c = checked[r];
                    outcomes[r] = new Outcome(slicer.slice(c.request(), c.rows(), row), null, model.config());
                    row += c.rows();
                }
            }
        } catch (OrtException | RuntimeException e) {
            InferenceException failure = new InferenceException(
                    InferenceException.Kind.INTERNAL,
                    ReasonCode.INFERENCE_FAILED,
                    "model " + model.name() + " v" + model.version() + " failed: " + e.getMessage());
            for (int r : written) {
                outcomes[r] = new Outcome(null, failure, model.config());
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
            long now = System.nanoTime();
            if (running == 0) {
                buffers.addTimings(now - started, 0, 0);
            } else if (sliced == 0) {
                buffers.addTimings(running - started, now - running, 0);
            } else {
                buffers.addTimings(running - started, sliced - running, now - sliced);
            }
        }
    }
}
