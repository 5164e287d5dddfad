package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.streamvision.proto.vision.v1.CaptionRequest;
import io.streamvision.proto.vision.v1.CaptioningServiceGrpc;
import io.streamvision.proto.vision.v1.DescribeRequest;
import io.streamvision.proto.vision.v1.DescribeResponse;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Caption and Describe end to end over real sockets: the packaged scoring service runs the caption
 * encoder, the packaged captioning service prepares the image and decodes. Greedy captions of the
 * fixture scenes must equal the model kit's reference token for token.
 */
@ExtendWith(KafkaBrokerExtension.class)
class CaptionGrpcProcessIT {

    @Test
    void captionsAndDescribesImagesThroughBothServices() throws Exception {
        TestBroker broker = TestBrokers.shared();
        String models = TestModels.dir().toString();
        Path root = Path.of(models).getParent();
        Process scoring = ServiceProcess.start(
                "../scoring",
                ServiceProcess.settings(
                        broker.bootstrapServers(),
                        ".it-grpc",
                        Map.of(
                                "vision.scoring.models-dir", models,
                                "vision.scoring.models", "lenet,caption-encoder",
                                "vision.scoring.kafka.enabled", "false",
                                "quarkus.grpc.server.port", "18101")),
                Path.of("target/caption-grpc-scoring.log"));
        Process captioning = ServiceProcess.start(
                ".",
                ServiceProcess.settings(
                        broker.bootstrapServers(),
                        ".it-grpc",
                        Map.of(
                                "vision.captioning.models-dir", models,
                                "vision.captioning.kafka.enabled", "false",
                                "quarkus.kafka-streams.application-id", "it-grpc-results",
                                "quarkus.grpc.server.port", "18103",
                                "quarkus.grpc.clients.scoring.port", "18101")),
                Path.of("target/caption-grpc-captioning.log"));
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", 18103)
                .usePlaintext()
                .build();
        try {
            CaptioningServiceGrpc.CaptioningServiceBlockingStub api = CaptioningServiceGrpc.newBlockingStub(channel);
            // The same RPCs under the name version 1 published.
            VisionServiceGrpc.VisionServiceBlockingStub vision = VisionServiceGrpc.newBlockingStub(channel);
            JsonNode fixture = new ObjectMapper()
                    .readTree(Path.of(models, "caption-decoder/1/fixtures/greedy.json")
                            .toFile());
            JsonNode scene = fixture.get("fixtures").get(0);
            byte[] png = Files.readAllBytes(root.resolve(scene.get("file").asText()));
            CaptionRequest greedy = CaptionRequest.newBuilder()
                    .setRequestId("g-0")
                    .setImage(ByteString.copyFrom(png))
                    .setBeamWidth(1)
                    .build();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            String text = null;
            while (text == null) {
                try {
                    text = api.withDeadlineAfter(10, TimeUnit.SECONDS)
                            .caption(greedy)
                            .getCaption()
                            .getText();
                } catch (StatusRuntimeException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(500);
                }
            }
            assertEquals(
                    text,
                    vision.caption(greedy).getCaption().getText(),
                    "VisionService/Caption answers as CaptioningService/Caption");
            StatusRuntimeException scoringsOwn = assertThrows(
                    StatusRuntimeException.class,
                    () -> vision.classify(io.streamvision.proto.vision.v1.ClassifyRequest.newBuilder()
                            .setImage(ByteString.copyFrom(png))
                            .build()));
            assertEquals(
                    Status.Code.UNIMPLEMENTED,
                    scoringsOwn.getStatus().getCode(),
                    "VisionService/Classify is the scoring service's");
            int agree = 0;
            for (JsonNode s : fixture.get("fixtures")) {
                byte[] image = Files.readAllBytes(root.resolve(s.get("file").asText()));
                String caption = api.caption(CaptionRequest.newBuilder()
                                .setRequestId(s.get("file").asText())
                                .setImage(ByteString.copyFrom(image))
                                .setBeamWidth(1)
                                .build())
                        .getCaption()
                        .getText();
                agree += caption.equals(s.get("greedy").get("caption").asText()) ? 1 : 0;
            }
            System.out.printf(
                    "[caption gRPC IT] greedy captions equal to the reference: %d of %d scenes%n",
                    agree, fixture.get("fixtures").size());
            assertEquals(fixture.get("fixtures").size(), agree, "every fixture scene captioned as the reference does");

            DescribeResponse described = api.describe(DescribeRequest.newBuilder()
                    .setRequestId("d-1")
                    .setImage(ByteString.copyFrom(png))
                    .setClassifier("lenet")
                    .setTopK(3)
                    .build());
            assertEquals(3, described.getClassification().getLabelsCount());
            assertEquals("d-1", described.getCaption().getRequestId());
            assertFalse(described.getCaption().getOutOfDomain(), "a scene is the caption model's domain");
            assertTrue(described.getCaption().getDomainThreshold() > 0, "and the answer says so with its score");

            // A photograph: the caption and lenet's labels both come back out of their models' domain.
            DescribeResponse cat = api.describe(DescribeRequest.newBuilder()
                    .setRequestId("cat")
                    .setImage(ByteString.copyFrom(Files.readAllBytes(root.resolve("samples/photos/chelsea.jpg"))))
                    .setClassifier("lenet")
                    .build());
            System.out.printf(
                    "[caption gRPC IT] the cat photograph: \"%s\" out of domain %s (score %.4g > %.4g); lenet %s %s%n",
                    cat.getCaption().getText(),
                    cat.getCaption().getOutOfDomain(),
                    cat.getCaption().getDomainScore(),
                    cat.getCaption().getDomainThreshold(),
                    cat.getClassification().getLabels(0).getLabel(),
                    cat.getClassification().getOutOfDomain());
            assertTrue(cat.getCaption().getOutOfDomain(), cat.getCaption().toString());
            assertTrue(
                    cat.getClassification().getOutOfDomain(),
                    cat.getClassification().toString());

            StatusRuntimeException bad = assertThrows(
                    StatusRuntimeException.class,
                    () -> api.caption(CaptionRequest.newBuilder()
                            .setImage(ByteString.copyFromUtf8("no image here"))
                            .build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
            assertTrue(bad.getStatus().getDescription().startsWith("UNSUPPORTED_FORMAT"));

            StatusRuntimeException late = assertThrows(
                    StatusRuntimeException.class,
                    () -> api.withDeadlineAfter(1, TimeUnit.MILLISECONDS).caption(greedy));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, late.getStatus().getCode());
        } finally {
            channel.shutdownNow();
            captioning.destroy();
            scoring.destroy();
            captioning.waitFor();
            scoring.waitFor();
        }
    }
}
