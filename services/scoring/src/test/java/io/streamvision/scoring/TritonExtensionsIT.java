package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.streamvision.proto.inference.DataType;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.InferStatistics;
import io.streamvision.proto.inference.ModelConfig;
import io.streamvision.proto.inference.ModelConfigRequest;
import io.streamvision.proto.inference.ModelConfigResponse;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInput;
import io.streamvision.proto.inference.ModelInstanceGroup;
import io.streamvision.proto.inference.ModelStatistics;
import io.streamvision.proto.inference.ModelStatisticsRequest;
import io.streamvision.proto.inference.RepositoryIndexRequest;
import io.streamvision.proto.inference.RepositoryIndexResponse;
import io.streamvision.proto.inference.RepositoryModelLoadRequest;
import io.streamvision.proto.inference.ServerMetadataRequest;
import io.streamvision.testing.KafkaBrokerTestResource;
import io.streamvision.testing.ServiceProcess;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Triton's model configuration and statistics extensions over gRPC and REST, against the running
 * service: what perf_analyzer and tritonclient read before and after their requests. The wire
 * check reads the answers as bare protobuf fields, so it fails if a field number moves away from
 * Triton's.
 */
@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
class TritonExtensionsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource(value = "/", management = true)
    URL management;

    @TestHTTPResource("/")
    URL base;

    @GrpcClient("inference")
    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub inference;

    @Test
    void modelConfigurationOverGrpcAndRestWithTritonsFieldNumbers() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        assertTrue(inference
                .serverMetadata(ServerMetadataRequest.getDefaultInstance())
                .getExtensionsList()
                .containsAll(List.of("model_configuration", "statistics")));

        ModelConfigResponse response = inference.modelConfig(
                ModelConfigRequest.newBuilder().setName("lenet").build());
        ModelConfig config = response.getConfig();
        assertEquals("lenet", config.getName());
        assertEquals("onnxruntime_onnx", config.getPlatform());
        assertEquals("onnxruntime", config.getBackend());
        assertEquals(64, config.getMaxBatchSize());
        ModelInput image = config.getInput(0);
        assertEquals("image", image.getName());
        assertEquals(DataType.TYPE_FP32, image.getDataType());
        assertEquals(ModelInput.Format.FORMAT_NCHW, image.getFormat());
        assertEquals(List.of(1L, 28L, 28L), image.getDimsList(), "without the batch dimension");
        assertEquals("logits", config.getOutput(0).getName());
        assertEquals(List.of(10L), config.getOutput(0).getDimsList());
        assertEquals(1024, config.getDynamicBatching().getDefaultQueuePolicy().getMaxQueueSize());
        assertEquals(
                ModelInstanceGroup.Kind.KIND_CPU, config.getInstanceGroup(0).getKind());
        assertTrue(config.getInstanceGroup(0).getCount() >= 1);

        // Triton's numbers: ModelConfigResponse.config 1; ModelConfig.name 1, platform 2,
        // max_batch_size 4, input 5, dynamic_batching 11, backend 17; ModelInput.name 1,
        // data_type 2 (TYPE_FP32 = 11), format 3 (FORMAT_NCHW = 2), dims 4.
        UnknownFieldSet wire = UnknownFieldSet.parseFrom(response.toByteArray());
        UnknownFieldSet c = UnknownFieldSet.parseFrom(
                wire.getField(1).getLengthDelimitedList().get(0));
        assertEquals(
                ByteString.copyFromUtf8("lenet"),
                c.getField(1).getLengthDelimitedList().get(0));
        assertEquals(
                ByteString.copyFromUtf8("onnxruntime_onnx"),
                c.getField(2).getLengthDelimitedList().get(0));
        assertEquals(List.of(64L), c.getField(4).getVarintList());
        assertEquals(
                ByteString.copyFromUtf8("onnxruntime"),
                c.getField(17).getLengthDelimitedList().get(0));
        assertFalse(c.getField(11).getLengthDelimitedList().isEmpty(), "dynamic_batching at 11");
        UnknownFieldSet in =
                UnknownFieldSet.parseFrom(c.getField(5).getLengthDelimitedList().get(0));
        assertEquals(
                ByteString.copyFromUtf8("image"),
                in.getField(1).getLengthDelimitedList().get(0));
        assertEquals(List.of(11L), in.getField(2).getVarintList());
        assertEquals(List.of(2L), in.getField(3).getVarintList());

        StatusRuntimeException unknown = assertThrows(
                StatusRuntimeException.class,
                () -> inference.modelConfig(
                        ModelConfigRequest.newBuilder().setName("no-such-model").build()));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());

        JsonNode rest = get("v2/models/lenet/config", 200);
        assertEquals("lenet", rest.get("name").asText());
        assertTrue(rest.get("max_batch_size").isNumber(), "a number, as Triton writes it: " + rest);
        assertEquals(64, rest.get("max_batch_size").asInt());
        assertEquals("TYPE_FP32", rest.get("input").get(0).get("data_type").asText());
        assertTrue(rest.get("input").get(0).get("dims").get(0).isNumber());
        assertEquals(
                1024,
                rest.get("dynamic_batching")
                        .get("default_queue_policy")
                        .get("max_queue_size")
                        .asInt());
        assertEquals(rest, get("v2/models/lenet/versions/1/config", 200));
        get("v2/models/no-such-model/config", 404);
    }

    @Test
    void statisticsCountWhatWasServedOverGrpcAndRest() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        ModelStatistics before = lenet();
        for (int i = 0; i < 5; i++) {
            inference.modelInfer(ScoringServiceIT.image("s-" + i, "lenet", 0.1f * i));
        }
        ModelInferRequest three = ScoringServiceIT.image("s-three", "lenet", 0.2f);
        ModelInferRequest.InferInputTensor one = three.getInputs(0);
        ByteString pixels = three.getRawInputContents(0);
        inference.modelInfer(three.toBuilder()
                .setInputs(0, one.toBuilder().setShape(0, 3))
                .setRawInputContents(0, pixels.concat(pixels).concat(pixels))
                .build());
        assertThrows(
                StatusRuntimeException.class,
                () -> inference.modelInfer(ScoringServiceIT.image("s-bad", "lenet", 0f).toBuilder()
                        .setRawInputContents(0, ByteString.copyFrom(new byte[12]))
                        .build()));
        ModelStatistics after = lenet();

        assertEquals("1", after.getVersion());
        assertEquals(8, after.getInferenceCount() - before.getInferenceCount(), "5 single rows and one of 3");
        InferStatistics a = after.getInferenceStats();
        InferStatistics b = before.getInferenceStats();
        assertEquals(6, a.getSuccess().getCount() - b.getSuccess().getCount());
        assertTrue(a.getSuccess().getNs() > b.getSuccess().getNs());
        assertEquals(1, a.getFail().getCount() - b.getFail().getCount(), "the short tensor");
        assertEquals(7, a.getQueue().getCount() - b.getQueue().getCount(), "the failed one waited too");
        assertEquals(6, a.getComputeInfer().getCount() - b.getComputeInfer().getCount());
        assertTrue(a.getComputeInfer().getNs() > b.getComputeInfer().getNs());
        assertEquals(6, a.getComputeInput().getCount() - b.getComputeInput().getCount());
        assertEquals(6, a.getComputeOutput().getCount() - b.getComputeOutput().getCount());
        long executions = after.getExecutionCount() - before.getExecutionCount();
        assertTrue(executions >= 1 && executions <= 6, "executions: " + executions);
        assertTrue(
                after.getBatchStatsList().stream().anyMatch(s -> s.getBatchSize() == 3 || s.getBatchSize() > 3),
                "a batch of at least 3 rows: " + after.getBatchStatsList());
        assertTrue(after.getLastInference() > System.currentTimeMillis() - 60_000);

        StatusRuntimeException unknown = assertThrows(
                StatusRuntimeException.class,
                () -> inference.modelStatistics(ModelStatisticsRequest.newBuilder()
                        .setName("no-such-model")
                        .build()));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());

        JsonNode all = get("v2/models/stats", 200);
        boolean both = false;
        for (JsonNode m : all.get("model_stats")) {
            both |= m.get("name").asText().equals("caption-encoder");
        }
        assertTrue(both, "every served model, requests or not: " + all);
        JsonNode lenet =
                get("v2/models/lenet/versions/1/stats", 200).get("model_stats").get(0);
        assertEquals("lenet", lenet.get("name").asText());
        assertTrue(lenet.get("inference_count").isNumber(), "a number, as Triton writes it: " + lenet);
        assertTrue(lenet.get("inference_count").asLong() >= after.getInferenceCount());
        assertTrue(lenet.get("inference_stats").get("success").get("ns").isNumber());
        get("v2/models/lenet/versions/7/stats", 404);
    }

    @Test
    void tritonsMetricNamesAndEveryMetricTheDashboardQueries() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        inference.modelInfer(ScoringServiceIT.image("m-1", "lenet", 0.3f));
        assertThrows(
                StatusRuntimeException.class,
                () -> inference.modelInfer(ScoringServiceIT.image("m-bad", "lenet", 0f).toBuilder()
                        .setRawInputContents(0, ByteString.copyFrom(new byte[12]))
                        .build()));
        String metrics = ServiceProcess.get(management.getPort(), "/q/metrics");
        ModelStatistics stats = lenet();
        Matcher success = Pattern.compile(
                        "(?m)^nv_inference_request_success\\{[^}]*model=\"lenet\"[^}]*version=\"1\"[^}]*} (\\S+)$")
                .matcher(metrics);
        assertTrue(success.find(), "Triton's name with model and version labels:\n" + metrics);
        double exported = Double.parseDouble(success.group(1));
        assertTrue(
                exported >= 1
                        && exported <= stats.getInferenceStats().getSuccess().getCount(),
                "the statistics' count: " + exported + " of "
                        + stats.getInferenceStats().getSuccess().getCount());
        Matcher otherFailures = Pattern.compile("(?m)^nv_inference_request_failure\\{[^}]*model=\"lenet\"[^}]*"
                        + "reason=\"OTHER\"[^}]*version=\"1\"[^}]*} (\\S+)$")
                .matcher(metrics);
        assertTrue(otherFailures.find(), "failures labelled with Triton's reasons:\n" + metrics);
        assertTrue(Double.parseDouble(otherFailures.group(1)) >= 1, "the short tensor is an OTHER failure");
        for (String reason : List.of("REJECTED", "CANCELED", "BACKEND")) {
            assertTrue(
                    Pattern.compile("(?m)^nv_inference_request_failure\\{[^}]*model=\"lenet\"[^}]*reason=\"" + reason
                                    + "\"")
                            .matcher(metrics)
                            .find(),
                    reason + " exported");
        }
        for (String name : List.of(
                "nv_inference_request_failure",
                "nv_inference_count",
                "nv_inference_exec_count",
                "nv_inference_request_duration_us",
                "nv_inference_queue_duration_us",
                "nv_inference_compute_input_duration_us",
                "nv_inference_compute_infer_duration_us",
                "nv_inference_compute_output_duration_us",
                "nv_inference_pending_request_count")) {
            assertTrue(metrics.contains("\n" + name + "{"), name + " exported");
        }

        JsonNode dashboard = JSON.readTree(
                Path.of("../../deploy/grafana/streamvision-scoring.json").toFile());
        Set<String> queried = new TreeSet<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                Matcher names = Pattern.compile("\\b((?:nv|vision)_[a-z_]+)\\b")
                        .matcher(target.get("expr").asText());
                while (names.find()) {
                    queried.add(names.group(1));
                }
            }
        }
        assertTrue(queried.size() >= 12, "the dashboard queries both sets of names: " + queried);
        for (String name : queried) {
            assertTrue(
                    Pattern.compile("(?m)^" + name + "\\{").matcher(metrics).find(),
                    "the dashboard queries " + name + ", which the service does not export");
        }
    }

    @Test
    void repositoryIndexListsEveryModelVersionWithItsState() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        RepositoryIndexResponse index = inference.repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
        Map<String, RepositoryIndexResponse.ModelIndex> byName = new HashMap<>();
        index.getModelsList().forEach(m -> byName.put(m.getName() + "/" + m.getVersion(), m));
        assertEquals("READY", byName.get("lenet/1").getState());
        assertEquals("READY", byName.get("caption-encoder/1").getState());
        RepositoryIndexResponse.ModelIndex other = byName.get("fashion-cnn/1");
        assertEquals("UNAVAILABLE", other.getState(), "in the repository, not served here");
        assertFalse(other.getReason().isEmpty());
        RepositoryIndexResponse ready = inference.repositoryIndex(
                RepositoryIndexRequest.newBuilder().setReady(true).build());
        assertEquals(2, ready.getModelsCount(), "the served versions: " + ready);
        assertTrue(ready.getModelsList().stream().allMatch(m -> m.getState().equals("READY")));

        HttpResponse<String> rest = HTTP.send(
                HttpRequest.newBuilder(URI.create(base + "v2/repository/index"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"ready\": true}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, rest.statusCode(), rest.body());
        JsonNode array = JSON.readTree(rest.body());
        assertTrue(array.isArray());
        assertEquals(2, array.size(), rest.body());
        assertEquals("READY", array.get(0).get("state").asText());

        StatusRuntimeException polling = assertThrows(
                StatusRuntimeException.class,
                () -> inference.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder()
                        .setModelName("fashion-cnn")
                        .build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, polling.getStatus().getCode(), "poll mode loads by itself");
    }

    private ModelStatistics lenet() {
        return inference
                .modelStatistics(
                        ModelStatisticsRequest.newBuilder().setName("lenet").build())
                .getModelStats(0);
    }

    private JsonNode get(String path, int status) throws Exception {
        HttpResponse<String> response = HTTP.send(
                HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(status, response.statusCode(), path + ": " + response.body());
        return JSON.readTree(response.body());
    }
}
