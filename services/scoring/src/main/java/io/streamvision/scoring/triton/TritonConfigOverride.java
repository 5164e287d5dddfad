package io.streamvision.scoring.triton;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.model.ModelConfig;
import java.util.function.UnaryOperator;

/**
 * The {@code config} parameter of a load request, Triton's model configuration as JSON, applied
 * over the repository's {@code config.json}: {@code max_batch_size}; {@code dynamic_batching}'s
 * {@code max_queue_delay_microseconds}, {@code priority_levels}, {@code default_priority_level}
 * and {@code default_queue_policy} ({@code max_queue_size}, {@code default_timeout_microseconds},
 * {@code timeout_action}, {@code allow_timeout_override}); {@code instance_group[0]}'s {@code count}
 * and {@code kind} (KIND_GPU: CUDA, KIND_CPU: the CPU). Fields the service takes elsewhere (the
 * tensors come from the model file and are checked against it) are left as they are; a {@code
 * name} other than the model's is refused. Stateless.
 */
public final class TritonConfigOverride {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TritonConfigOverride() {}

    /** The override a {@code config} value asks for, for model {@code name}. */
    public static UnaryOperator<ModelConfig> parse(String name, String json) {
        JsonNode c;
        try {
            c = JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("the config parameter is not JSON: " + e.getMessage());
        }
        if (c == null || !c.isObject()) {
            throw new IllegalArgumentException("the config parameter is not a JSON object");
        }
        if (c.hasNonNull("name") && !c.get("name").asText().equals(name)) {
            throw new IllegalArgumentException(
                    "the config names model '" + c.get("name").asText() + "', not '" + name + "'");
        }
        JsonNode dynamic = c.path("dynamic_batching");
        JsonNode policy = dynamic.path("default_queue_policy");
        JsonNode group = c.path("instance_group").path(0);
        return config -> {
            ModelConfig.Batching b = config.batching();
            ModelConfig.QueuePolicy q = b.defaultQueuePolicy();
            ModelConfig.QueuePolicy queue = q;
            if (policy.has("timeout_action")
                    || policy.has("default_timeout_microseconds")
                    || policy.has("allow_timeout_override")) {
                queue = new ModelConfig.QueuePolicy(
                        policy.has("timeout_action")
                                ? policy.get("timeout_action").asText()
                                : q == null ? null : q.timeoutAction(),
                        policy.has("default_timeout_microseconds")
                                ? policy.get("default_timeout_microseconds").asLong()
                                : q == null ? 0 : q.defaultTimeoutUs(),
                        policy.has("allow_timeout_override")
                                ? Boolean.valueOf(
                                        policy.get("allow_timeout_override").asBoolean())
                                : q == null || q.allowTimeoutOverride() == null
                                        ? Boolean.FALSE
                                        : q.allowTimeoutOverride());
            }
            ModelConfig.Batching batching = new ModelConfig.Batching(
                    c.has("max_batch_size") ? c.get("max_batch_size").asInt() : b.maxBatchSize(),
                    dynamic.has("max_queue_delay_microseconds")
                            ? dynamic.get("max_queue_delay_microseconds").asLong()
                            : b.maxQueueDelayUs(),
                    policy.has("max_queue_size") ? policy.get("max_queue_size").asInt() : b.maxQueueSize(),
                    dynamic.has("priority_levels")
                            ? Integer.valueOf(dynamic.get("priority_levels").asInt())
                            : b.priorityLevels(),
                    dynamic.has("default_priority_level")
                            ? Integer.valueOf(
                                    dynamic.get("default_priority_level").asInt())
                            : b.defaultPriorityLevel(),
                    queue);
            ModelConfig.Execution e =
                    config.execution() == null ? new ModelConfig.Execution("auto", false) : config.execution();
            String kind = group.path("kind").asText("");
            ModelConfig.Execution execution = new ModelConfig.Execution(
                    kind.equals("KIND_GPU") ? "cuda" : kind.equals("KIND_CPU") ? "cpu" : e.provider(),
                    kind.equals("KIND_GPU") || e.requireCuda(),
                    e.intraOpThreads(),
                    e.interOpThreads(),
                    e.allowSpinning(),
                    group.has("count") ? Integer.valueOf(group.get("count").asInt()) : e.instances());
            return new ModelConfig(
                    config.name(),
                    config.version(),
                    config.platform(),
                    config.file(),
                    config.task(),
                    config.inputs(),
                    config.outputs(),
                    config.labels(),
                    batching,
                    execution,
                    config.sha256(),
                    config.vocab(),
                    config.encoder(),
                    config.detection(),
                    config.outOfDomain());
        };
    }
}
