package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.testing.TestModels;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * The public endpoints under abuse, through real sockets: an oversize gRPC message and an oversize
 * REST body, a flood larger than the model's queue, a flood on one connection beyond its limit of
 * concurrent calls, and a deadline shorter than any batch. Each
 * gets a clean status, and a normal call right after still succeeds.
 */
@QuarkusTest
@TestProfile(EndpointLimitsIT.SmallQueue.class)
class EndpointLimitsIT {

    static final int QUEUE = 8;
    static final int PER_CONNECTION = 4;

    /**
     * lenet with a queue of {@value #QUEUE} requests and a 20 ms batching window; at most {@value
     * #PER_CONNECTION} calls at once per connection.
     */
    public static class SmallQueue implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path repo = Files.createTempDirectory("limits-models-");
                Path source = TestModels.dir().resolve("lenet/1");
                Path version = Files.createDirectories(repo.resolve("lenet/1"));
                try (Stream<Path> files = Files.list(source)) {
                    for (Path file : (Iterable<Path>) files::iterator) {
                        Files.copy(file, version.resolve(file.getFileName()));
                    }
                }
                ObjectMapper json = new ObjectMapper();
                ObjectNode config = (ObjectNode)
                        json.readTree(version.resolve("config.json").toFile());
                ObjectNode batching = (ObjectNode) config.get("batching");
                batching.put("max_queue_size", QUEUE);
                batching.put("max_batch_size", 4);
                batching.put("max_queue_delay_us", 20_000);
                json.writeValue(version.resolve("config.json").toFile(), config);
                return Map.of(
                        "vision.scoring.models-dir",
                        repo.toString(),
                        "vision.scoring.models",
                        "lenet",
                        "vision.scoring.kafka.enabled",
                        "false",
                        "vision.scoring.grpc.max-concurrent-calls-per-connection",
                        String.valueOf(PER_CONNECTION));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @GrpcClient("inference")
    Channel channel;

    @ConfigProperty(name = "quarkus.grpc.clients.inference.port")
    int grpcPort;

    @TestHTTPResource("/")
    URL http;

    @Test
    void anOversizeMessageIsRefusedAndTheNextCallSucceeds() throws Exception {
        ModelInferRequest.Builder huge = request().toBuilder().clearRawInputContents();
        huge.addRawInputContents(ByteString.copyFrom(new byte[65 << 20]));
        StatusRuntimeException e =
                assertThrows(StatusRuntimeException.class, () -> blocking().modelInfer(huge.build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
        assertEquals(
                10, blocking().modelInfer(request()).getRawOutputContents(0).size() / 4);

        HttpResponse<String> body = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .build()
                .send(
                        HttpRequest.newBuilder(URI.create(http + "v2/models/lenet/infer"))
                                .header("Content-Type", "application/json")
                                // The server answers 413 from the Content-Length, before the body.
                                .expectContinue(true)
                                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[65 << 20]))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(413, body.statusCode(), body.body());
    }

    @Test
    void aFloodBeyondTheQueueGetsResourceExhaustedAndNormalCallsGoOn() throws Exception {
        // Eight connections of 25 calls each: up to 32 at once, four times the queue.
        List<ManagedChannel> connections = new ArrayList<>();
        List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
        try {
            for (int c = 0; c < 8; c++) {
                ManagedChannel connection = ManagedChannelBuilder.forAddress("127.0.0.1", grpcPort)
                        .usePlaintext()
                        .build();
                connections.add(connection);
                for (int i = 0; i < 25; i++) {
                    calls.add(futureStub(connection).modelInfer(request()));
                }
            }
            Map<Status.Code, Integer> outcomes = outcomes(calls);
            System.out.println("[limits] 200 calls on 8 connections, queue of " + QUEUE + ": " + outcomes);
            assertTrue(outcomes.getOrDefault(Status.Code.RESOURCE_EXHAUSTED, 0) > 0, outcomes.toString());
            assertTrue(outcomes.getOrDefault(Status.Code.OK, 0) >= QUEUE, outcomes.toString());
            assertEquals(
                    calls.size(),
                    outcomes.getOrDefault(Status.Code.OK, 0) + outcomes.getOrDefault(Status.Code.RESOURCE_EXHAUSTED, 0),
                    "nothing but served or refused: " + outcomes);
        } finally {
            connections.forEach(ManagedChannel::shutdownNow);
        }
        assertEquals(
                10, blocking().modelInfer(request()).getRawOutputContents(0).size() / 4);
    }

    @Test
    void oneConnectionGetsNoMoreThanItsShareOfConcurrentCalls() throws Exception {
        // The server announces at most PER_CONNECTION streams, so the client holds back the rest:
        // never more than PER_CONNECTION of these calls are queued at once, fewer than the queue
        // takes, and every one is served.
        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async = futureStub(channel);
        List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            calls.add(async.modelInfer(request()));
        }
        Map<Status.Code, Integer> outcomes = outcomes(calls);
        System.out.println("[limits] 200 calls on one connection, " + PER_CONNECTION + " at once: " + outcomes);
        assertEquals(Map.of(Status.Code.OK, calls.size()), outcomes);
    }

    private static Map<Status.Code, Integer> outcomes(List<ListenableFuture<ModelInferResponse>> calls)
            throws InterruptedException {
        Map<Status.Code, Integer> outcomes = new EnumMap<>(Status.Code.class);
        for (ListenableFuture<ModelInferResponse> call : calls) {
            try {
                call.get();
                outcomes.merge(Status.Code.OK, 1, Integer::sum);
            } catch (ExecutionException e) {
                outcomes.merge(Status.fromThrowable(e.getCause()).getCode(), 1, Integer::sum);
            }
        }
        return outcomes;
    }

    private static GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub futureStub(Channel channel) {
        return GRPCInferenceServiceGrpc.newFutureStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @Test
    void aDeadlineShorterThanTheBatchWindowEndsTheCall() {
        StatusRuntimeException e = assertThrows(
                StatusRuntimeException.class,
                () -> blocking().withDeadlineAfter(1, TimeUnit.MILLISECONDS).modelInfer(request()));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode(), e.toString());
        assertEquals(
                10, blocking().modelInfer(request()).getRawOutputContents(0).size() / 4);
    }

    private GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub blocking() {
        return GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static ModelInferRequest request() {
        return ScoringServiceIT.image("limits", "lenet", 0.5f);
    }
}
