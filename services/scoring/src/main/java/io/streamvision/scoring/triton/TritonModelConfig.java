package io.streamvision.scoring.triton;

import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.DataType;
import io.streamvision.proto.inference.ModelDynamicBatching;
import io.streamvision.proto.inference.ModelInput;
import io.streamvision.proto.inference.ModelInstanceGroup;
import io.streamvision.proto.inference.ModelOptimizationPolicy;
import io.streamvision.proto.inference.ModelOutput;
import io.streamvision.proto.inference.ModelParameter;
import io.streamvision.proto.inference.ModelQueuePolicy;
import io.streamvision.proto.inference.ModelVersionPolicy;
import io.streamvision.runtime.BatchingSettings;
import io.streamvision.runtime.LoadedModel;
import java.util.Arrays;
import java.util.Locale;

/**
 * A loaded model's configuration as Triton's {@code inference.ModelConfig}: what {@code
 * perf_analyzer}, {@code tritonclient.get_model_config} and Model Analyzer read before their first
 * request. Filled from {@code config.json} and from what the service made of it when loading
 * (the batching limits and queue policy in force, the instances that run, the execution provider
 * chosen). Stateless.
 */
public final class TritonModelConfig {

    /** ONNX Runtime's graph optimisation level the service loads every model with (ALL_OPT). */
    static final int GRAPH_LEVEL_ALL = 1;

    private TritonModelConfig() {}

    public static io.streamvision.proto.inference.ModelConfig of(LoadedModel model) {
        ModelConfig c = model.config();
        BatchingSettings batching = model.batching();
        int maxBatch = batching.maxBatchSize();
        io.streamvision.proto.inference.ModelConfig.Builder out =
                io.streamvision.proto.inference.ModelConfig.newBuilder()
                        .setName(c.name())
                        .setPlatform(c.platform() == null ? "onnxruntime_onnx" : c.platform())
                        .setBackend("onnxruntime")
                        .setVersionPolicy(ModelVersionPolicy.newBuilder()
                                .setLatest(
                                        ModelVersionPolicy.Latest.newBuilder().setNumVersions(1)))
                        .setMaxBatchSize(maxBatch)
                        .setDefaultModelFilename(c.file() == null ? "model.onnx" : c.file());
        for (ModelConfig.TensorSpec t : c.inputs()) {
            ModelInput.Builder in = ModelInput.newBuilder()
                    .setName(t.name())
                    .setDataType(dataType(t.datatype()))
                    .addAllDims(dims(t.shape(), maxBatch));
            if ("NCHW".equalsIgnoreCase(t.layout())) {
                in.setFormat(ModelInput.Format.FORMAT_NCHW);
            } else if ("NHWC".equalsIgnoreCase(t.layout())) {
                in.setFormat(ModelInput.Format.FORMAT_NHWC);
            }
            out.addInput(in);
        }
        for (ModelConfig.TensorSpec t : c.outputs()) {
            out.addOutput(ModelOutput.newBuilder()
                    .setName(t.name())
                    .setDataType(dataType(t.datatype()))
                    .addAllDims(dims(t.shape(), maxBatch)));
        }
        BatchingSettings.QueuePolicy policy = batching.queuePolicy();
        ModelQueuePolicy queue = ModelQueuePolicy.newBuilder()
                .setTimeoutAction(
                        policy.reject() ? ModelQueuePolicy.TimeoutAction.REJECT : ModelQueuePolicy.TimeoutAction.DELAY)
                .setDefaultTimeoutMicroseconds(Math.max(0, policy.defaultTimeoutMicros()))
                .setAllowTimeoutOverride(policy.allowTimeoutOverride())
                .setMaxQueueSize(Math.max(0, batching.maxQueueSize()))
                .build();
        ModelDynamicBatching.Builder dynamic = ModelDynamicBatching.newBuilder()
                .setMaxQueueDelayMicroseconds(Math.max(0, batching.maxQueueDelayMicros()))
                .setDefaultQueuePolicy(queue);
        if (batching.priorityLevels() > 1) {
            dynamic.setPriorityLevels(batching.priorityLevels()).setDefaultPriorityLevel(batching.defaultPriority());
        }
        out.setDynamicBatching(dynamic);
        boolean gpu = "cuda".equals(model.provider());
        out.addInstanceGroup(ModelInstanceGroup.newBuilder()
                .setName(c.name())
                .setCount(model.instances())
                .setKind(gpu ? ModelInstanceGroup.Kind.KIND_GPU : ModelInstanceGroup.Kind.KIND_CPU));
        ModelOptimizationPolicy.Builder optimization = ModelOptimizationPolicy.newBuilder()
                .setGraph(ModelOptimizationPolicy.Graph.newBuilder().setLevel(GRAPH_LEVEL_ALL));
        if (gpu) {
            optimization.setExecutionAccelerators(ModelOptimizationPolicy.ExecutionAccelerators.newBuilder()
                    .addGpuExecutionAccelerator(ModelOptimizationPolicy.ExecutionAccelerators.Accelerator.newBuilder()
                            .setName("cuda")));
        }
        out.setOptimization(optimization);
        if (c.task() != null) {
            out.putParameters(
                    "task", ModelParameter.newBuilder().setStringValue(c.task()).build());
        }
        out.putParameters(
                "execution_provider",
                ModelParameter.newBuilder().setStringValue(model.provider()).build());
        if (c.labels() != null && !c.labels().isEmpty()) {
            out.putParameters(
                    "labels",
                    ModelParameter.newBuilder()
                            .setStringValue(String.join("\n", c.labels()))
                            .build());
        }
        return out.build();
    }

    /** An OIP datatype name ({@code FP32}, {@code UINT8}, ...) as Triton's enum. */
    static DataType dataType(String oip) {
        if (oip == null) {
            return DataType.TYPE_INVALID;
        }
        String name = oip.toUpperCase(Locale.ROOT);
        if (name.equals("BYTES")) {
            return DataType.TYPE_STRING;
        }
        try {
            return DataType.valueOf("TYPE_" + name);
        } catch (IllegalArgumentException e) {
            return DataType.TYPE_INVALID;
        }
    }

    /** A tensor's shape without the batch dimension when the model batches, as Triton's dims. */
    static java.util.List<Long> dims(long[] shape, int maxBatch) {
        long[] dims = maxBatch > 0 && shape.length > 0 ? Arrays.copyOfRange(shape, 1, shape.length) : shape;
        return Arrays.stream(dims).boxed().toList();
    }
}
