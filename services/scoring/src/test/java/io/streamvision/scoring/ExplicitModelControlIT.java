package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelConfig;
import io.streamvision.proto.inference.ModelConfigRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.inference.ModelReadyRequest;
import io.streamvision.proto.inference.ModelRepositoryParameter;
import io.streamvision.proto.inference.RepositoryIndexRequest;
import io.streamvision.proto.inference.RepositoryIndexResponse;
import io.streamvision.proto.inference.RepositoryModelLoadRequest;
import io.streamvision.proto.inference.RepositoryModelUnloadRequest;
import io.streamvision.testing.KafkaBrokerTestResource;
import io.streamvision.testing.ServiceProcess;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Explicit model control, as Triton's {@code --model-control-mode=explicit}: the startup list
 * loads, more models load and unload only through the repository API (gRPC and REST), and an unload
 * under load loses no request: each one sent is answered, by the model or with a status that says
 * it is not served.
 */
@QuarkusTest
@TestProfile(ExplicitModelControlIT.Explicit.class)
@QuarkusTestResource(KafkaBrokerTestResource.class)
class ExplicitModelControlIT {

    public static class Explicit implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("vision.scoring.model-control-mode", "explicit", "vision.scoring.models", "lenet");
        }
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource(value = "/", management = true)
    URL management;

    @TestHTTPResource("/")
    URL base;

    @GrpcClient("inference")
    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub inference;

    @GrpcClient("inference")
    io.grpc.Channel channel;

    @Test
    void loadsOnRequestAndUnloadsUnderLoadLosingNothing() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        assertEquals("READY", state("lenet"));
        assertEquals("UNAVAILABLE", state("caption-encoder"), "not in the startup list");

        inference.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder()
                .setModelName("caption-encoder")
                .build());
        assertEquals("READY", state("caption-encoder"));
        assertTrue(ready("caption-encoder"));

        assertEquals(
                Status.Code.NOT_FOUND,
                assertThrows(
                                StatusRuntimeException.class,
                                () -> inference.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder()
                                        .setModelName("no-such-model")
                                        .build()))
                        .getStatus()
                        .getCode());
        // Triton's config override: applied over the repository's config.json.
        inference.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder()
                .setModelName("caption-encoder")
                .putParameters(
                        "config",
                        string("{\"max_batch_size\": 16, \"dynamic_batching\":"
                                + " {\"default_queue_policy\": {\"max_queue_size\": 77}}, \"instance_group\":"
                                + " [{\"count\": 1, \"kind\": \"KIND_CPU\"}]}"))
                .build());
        ModelConfig overridden = inference
                .modelConfig(ModelConfigRequest.newBuilder()
                        .setName("caption-encoder")
                        .build())
                .getConfig();
        assertEquals(16, overridden.getMaxBatchSize());
        assertEquals(77, overridden.getDynamicBatching().getDefaultQueuePolicy().getMaxQueueSize());
        assertEquals(1, overridden.getInstanceGroup(0).getCount());
        inference.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder()
                .setModelName("caption-encoder")
                .build());
        assertEquals(
                64,
                inference
                        .modelConfig(ModelConfigRequest.newBuilder()
                                .setName("caption-encoder")
                                .build())
                        .getConfig()
                        .getMaxBatchSize(),
                "loaded again without it: the repository's config");
        for (String refused : List.of("file:../model.onnx", "file:model.onnx", "config", "unknown")) {
            assertEquals(
                    Status.Code.INVALID_ARGUMENT,
                    assertThrows(
                                    StatusRuntimeException.class,
                                    () -> inference.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder()
                                            .setModelName("lenet")
                                            .putParameters(refused, string("{\"name\": \"other\"}"))
                                            .build()))
                            .getStatus()
                            .getCode(),
                    refused);
        }

        // 400 requests in flight while lenet unloads: every one is answered, none is lost.
        int sent = 400;
        CountDownLatch answered = new CountDownLatch(sent);
        AtomicInteger ok = new AtomicInteger();
        Map<Status.Code, Integer> refused = new ConcurrentHashMap<>();
        GRPCInferenceServiceGrpc.GRPCInferenceServiceStub async = GRPCInferenceServiceGrpc.newStub(channel);
        Thread feeder = new Thread(() -> {
            for (int i = 0; i < sent; i++) {
                async.modelInfer(ScoringServiceIT.image("u-" + i, "lenet", 0.5f), new StreamObserver<>() {
                    @Override
                    public void onNext(ModelInferResponse value) {
                        ok.incrementAndGet();
                    }

                    @Override
                    public void onError(Throwable t) {
                        refused.merge(Status.fromThrowable(t).getCode(), 1, Integer::sum);
                        answered.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        answered.countDown();
                    }
                });
                if (i % 20 == 0) {
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        });
        feeder.start();
        // Unload once the first answers are back, while the rest are still being sent.
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (ok.get() < 20 && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        inference.repositoryModelUnload(
                RepositoryModelUnloadRequest.newBuilder().setModelName("lenet").build());
        feeder.join();
        assertTrue(answered.await(60, TimeUnit.SECONDS), "every request answered");
        assertTrue(ok.get() >= 1, "requests before the unload were served: " + ok + ", refused " + refused);
        assertEquals(
                sent,
                ok.get() + refused.values().stream().mapToInt(Integer::intValue).sum());
        refused.keySet()
                .forEach(code -> assertTrue(
                        code == Status.Code.NOT_FOUND || code == Status.Code.UNAVAILABLE,
                        "refused as not served, not failed: " + refused));
        assertFalse(ready("lenet"));
        assertEquals("UNAVAILABLE", state("lenet"));
        assertEquals(
                Status.Code.NOT_FOUND,
                assertThrows(
                                StatusRuntimeException.class,
                                () -> inference.modelInfer(ScoringServiceIT.image("after", "lenet", 0.5f)))
                        .getStatus()
                        .getCode());

        // And back over REST, Triton's paths.
        assertEquals(200, post("v2/repository/models/lenet/load").statusCode());
        assertTrue(ready("lenet"));
        assertEquals(
                "u-x",
                inference
                        .modelInfer(ScoringServiceIT.image("u-x", "lenet", 0.5f))
                        .getId());
        assertEquals(200, post("v2/repository/models/caption-encoder/unload").statusCode());
        assertFalse(ready("caption-encoder"));
        assertEquals(404, post("v2/repository/models/caption-encoder/unload").statusCode(), "not loaded now");
    }

    /**
     * Triton's file override: a load request carries the model's files ({@code file:<version>/<path>},
     * bytes over gRPC, base64 over REST); they are staged apart from the shared repository, served,
     * and removed again when the model is loaded from the repository or unloaded. Files that do not
     * load leave the serving version in place and say why.
     */
    @Test
    void loadsAModelFromTheRequestsOwnFiles() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        Path repository = Path.of("../../models");
        byte[] onnx = Files.readAllBytes(repository.resolve("lenet/1/model.onnx"));
        Set<Path> stagedBefore = staged();
        inference.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder()
                .setModelName("lenet")
                .putParameters("file:3/model.onnx", bytes(onnx))
                .build());
        assertEquals("3", served("lenet"), "the request's version 3 serves");
        assertFalse(Files.exists(repository.resolve("lenet/3")), "the shared repository is not written");
        assertEquals(1, staged().size() - stagedBefore.size(), "staged apart: " + staged());
        assertEquals(
                "READY",
                inference.repositoryIndex(RepositoryIndexRequest.getDefaultInstance()).getModelsList().stream()
                        .filter(m ->
                                m.getName().equals("lenet") && m.getVersion().equals("3"))
                        .map(RepositoryIndexResponse.ModelIndex::getState)
                        .findFirst()
                        .orElse("ABSENT"));

        StatusRuntimeException broken = assertThrows(
                StatusRuntimeException.class,
                () -> inference.repositoryModelLoad(RepositoryModelLoadRequest.newBuilder()
                        .setModelName("lenet")
                        .putParameters("file:4/model.onnx", bytes("not an onnx file".getBytes()))
                        .build()));
        assertTrue(
                broken.getStatus().getDescription().contains("version 3 keeps serving"),
                broken.getStatus().getDescription());
        assertEquals("3", served("lenet"), "the files that did not load changed nothing");
        assertEquals(1, staged().size() - stagedBefore.size(), "the broken files are removed: " + staged());

        // A model the repository does not have, over REST: its files include its config.json.
        String config = Files.readString(repository.resolve("lenet/1/config.json"))
                .replace("\"name\": \"lenet\"", "\"name\": \"lenet-upload\"");
        String body = "{\"parameters\": {\"file:1/model.onnx\": \""
                + Base64.getEncoder().encodeToString(onnx)
                + "\", \"file:1/config.json\": \""
                + Base64.getEncoder().encodeToString(config.getBytes(StandardCharsets.UTF_8))
                + "\"}}";
        HttpResponse<String> uploaded = HTTP.send(
                HttpRequest.newBuilder(URI.create(base + "v2/repository/models/lenet-upload/load"))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, uploaded.statusCode(), uploaded.body());
        assertEquals("1", served("lenet-upload"));
        assertEquals(2, staged().size() - stagedBefore.size());
        assertEquals(200, post("v2/repository/models/lenet-upload/unload").statusCode());
        assertEquals(1, staged().size() - stagedBefore.size(), "unloading removes its files");

        inference.repositoryModelLoad(
                RepositoryModelLoadRequest.newBuilder().setModelName("lenet").build());
        assertEquals("1", served("lenet"), "loaded without files: the repository's version again");
        assertEquals(stagedBefore, staged(), "and the request's files are removed");
    }

    private String served(String model) {
        return inference
                .modelInfer(ScoringServiceIT.image("v-" + model, model, 0.5f))
                .getModelVersion();
    }

    private static Set<Path> staged() throws java.io.IOException {
        try (var dirs = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("vision-model-files-"))
                    .collect(Collectors.toSet());
        }
    }

    private static ModelRepositoryParameter bytes(byte[] value) {
        return ModelRepositoryParameter.newBuilder()
                .setBytesParam(com.google.protobuf.ByteString.copyFrom(value))
                .build();
    }

    private static ModelRepositoryParameter string(String value) {
        return ModelRepositoryParameter.newBuilder().setStringParam(value).build();
    }

    private String state(String model) {
        RepositoryIndexResponse index = inference.repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
        return index.getModelsList().stream()
                .filter(m -> m.getName().equals(model) && m.getVersion().equals("1"))
                .map(RepositoryIndexResponse.ModelIndex::getState)
                .findFirst()
                .orElse("ABSENT");
    }

    private boolean ready(String model) {
        return inference
                .modelReady(ModelReadyRequest.newBuilder().setName(model).build())
                .getReady();
    }

    private HttpResponse<String> post(String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(base + path))
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
