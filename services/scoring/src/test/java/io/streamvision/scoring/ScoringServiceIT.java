package io.streamvision.scoring;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.inference.ModelMetadataRequest;
import io.streamvision.proto.inference.ModelMetadataResponse;
import io.streamvision.proto.inference.ModelStreamInferResponse;
import io.streamvision.proto.inference.ServerLiveRequest;
import io.streamvision.proto.inference.ServerReadyRequest;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ClassifyRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.ScoringServiceGrpc;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import io.streamvision.runtime.Classifications;
import io.streamvision.testing.KafkaBrokerTestResource;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
class ScoringServiceIT {

    /** Health and metrics: the management interface. */
    @TestHTTPResource(value = "/", management = true)
    URL management;

    private static final Topics TOPICS = new Topics(".it-scoring");

    @GrpcClient("inference")
    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub inference;

    static ModelInferRequest image(String id, String model, float fill) {
        ByteBuffer pixels = ByteBuffer.allocate(28 * 28 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 28 * 28; i++) {
            pixels.putFloat(i % 28 < 14 ? fill : -fill);
        }
        ModelInferRequest.Builder request =
                ModelInferRequest.newBuilder().setModelName(model).setId(id);
        request.addInputsBuilder().setName("image").setDatatype("FP32").addAllShape(List.of(1L, 1L, 28L, 28L));
        return request.addRawInputContents(ByteString.copyFrom(pixels.array())).build();
    }

    /**
     * The {@link #image} pattern as UINT8 pixels, as preprocess sends them to a model that accepts
     * them: {@code fill} of 0 to 1 brightens the left half over a mid-grey right half.
     */
    static ModelInferRequest pixels(String id, String model, float fill) {
        byte[] pixels = new byte[28 * 28];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i % 28 < 14 ? 128 + Math.round(fill * 127) : 128 - Math.round(fill * 127));
        }
        ModelInferRequest.Builder request =
                ModelInferRequest.newBuilder().setModelName(model).setId(id);
        request.addInputsBuilder().setName("image").setDatatype("UINT8").addAllShape(List.of(1L, 1L, 28L, 28L));
        return request.addRawInputContents(ByteString.copyFrom(pixels)).build();
    }

    /** A 96x96 RGB scene tensor for the caption encoder. */
    static ModelInferRequest sceneTensor(String id) {
        ByteBuffer pixels = ByteBuffer.allocate(3 * 96 * 96 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 3 * 96 * 96; i++) {
            pixels.putFloat((i / 96) % 2 == 0 ? 1f : -0.3f);
        }
        ModelInferRequest.Builder request =
                ModelInferRequest.newBuilder().setModelName("caption-encoder").setId(id);
        request.addInputsBuilder().setName("image").setDatatype("FP32").addAllShape(List.of(1L, 3L, 96L, 96L));
        return request.addRawInputContents(ByteString.copyFrom(pixels.array())).build();
    }

    @Test
    void readyAndServesTheInferenceProtocolOverGrpc() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        assertTrue(inference.serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
        assertTrue(
                inference.serverReady(ServerReadyRequest.getDefaultInstance()).getReady());

        ModelMetadataResponse meta = inference.modelMetadata(
                ModelMetadataRequest.newBuilder().setName("lenet").build());
        assertEquals("image", meta.getInputs(0).getName());
        assertEquals(List.of(-1L, 1L, 28L, 28L), meta.getInputs(0).getShapeList());

        ModelInferResponse response = inference.modelInfer(image("g-1", "lenet", 0.5f));
        assertEquals("g-1", response.getId());
        assertEquals(List.of(1L, 10L), response.getOutputs(0).getShapeList());

        StatusRuntimeException unknown = assertThrows(
                StatusRuntimeException.class, () -> inference.modelInfer(image("g-2", "no-such-model", 0.5f)));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());

        ModelInferRequest wrongShape = image("g-3", "lenet", 0.5f).toBuilder()
                .setInputs(0, image("x", "lenet", 0f).getInputs(0).toBuilder().setShape(3, 27))
                .build();
        StatusRuntimeException invalid =
                assertThrows(StatusRuntimeException.class, () -> inference.modelInfer(wrongShape));
        assertEquals(Status.Code.INVALID_ARGUMENT, invalid.getStatus().getCode());
        assertTrue(
                invalid.getStatus().getDescription().contains("'image'"),
                invalid.getStatus().getDescription());
    }

    @GrpcClient("inference")
    ScoringServiceGrpc.ScoringServiceBlockingStub scoring;

    /** The same RPC under the name version 1 published. */
    @GrpcClient("inference")
    VisionServiceGrpc.VisionServiceBlockingStub vision;

    @GrpcClient("inference")
    Channel channel;

    static float[] logits(ModelInferResponse response) {
        float[] out = new float[10];
        response.getRawOutputContents(0)
                .asReadOnlyByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(out);
        return out;
    }

    /** IEEE 754 binary16 of a float (round to nearest even is not needed for these test values). */
    static short toHalf(float value) {
        int bits = Float.floatToIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = ((bits >>> 23) & 0xFF) - 127 + 15;
        int mantissa = (bits >>> 13) & 0x3FF;
        if (value == 0f) {
            return (short) sign;
        }
        return (short) (sign | (exponent << 10) | mantissa);
    }

    @Test
    void acceptsTypedFp16AndStreamedRequestsAndRejectsAmbiguousOnes() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        ModelInferRequest raw = image("t-1", "lenet", 0.5f);
        float[] expected = logits(inference.modelInfer(raw));

        ModelInferRequest.Builder typed = raw.toBuilder().clearRawInputContents();
        var contents = typed.getInputsBuilder(0).getContentsBuilder();
        FloatBuffer pixels = raw.getRawInputContents(0)
                .asReadOnlyByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        while (pixels.hasRemaining()) {
            contents.addFp32Contents(pixels.get());
        }
        Assertions.assertArrayEquals(
                expected,
                logits(inference.modelInfer(typed.build())),
                1e-6f,
                "typed fp32_contents give the same answer as raw contents");

        ByteBuffer half = ByteBuffer.allocate(28 * 28 * 2).order(ByteOrder.LITTLE_ENDIAN);
        pixels.rewind();
        while (pixels.hasRemaining()) {
            half.putShort(toHalf(pixels.get()));
        }
        ModelInferRequest fp16 = raw.toBuilder()
                .setInputs(0, raw.getInputs(0).toBuilder().setDatatype("FP16"))
                .setRawInputContents(0, ByteString.copyFrom(half.array()))
                .build();
        Assertions.assertArrayEquals(
                expected,
                logits(inference.modelInfer(fp16)),
                1e-3f,
                "FP16 raw input (±0.5 is exact in binary16) is widened to FP32");

        ModelInferRequest both = typed.build().toBuilder()
                .addRawInputContents(raw.getRawInputContents(0))
                .build();
        StatusRuntimeException ambiguous = assertThrows(StatusRuntimeException.class, () -> inference.modelInfer(both));
        assertEquals(Status.Code.INVALID_ARGUMENT, ambiguous.getStatus().getCode());
        assertTrue(
                ambiguous.getStatus().getDescription().contains("both"),
                ambiguous.getStatus().getDescription());

        ModelInferRequest shortBytes = raw.toBuilder()
                .setRawInputContents(0, raw.getRawInputContents(0).substring(0, 100))
                .build();
        StatusRuntimeException size =
                assertThrows(StatusRuntimeException.class, () -> inference.modelInfer(shortBytes));
        assertTrue(
                size.getStatus().getDescription().contains("bytes"),
                size.getStatus().getDescription());

        LinkedBlockingQueue<ModelStreamInferResponse> answers = new LinkedBlockingQueue<>();
        CountDownLatch done = new CountDownLatch(1);
        var stream = GRPCInferenceServiceGrpc.newStub(channel).modelStreamInfer(new StreamObserver<>() {
            @Override
            public void onNext(ModelStreamInferResponse value) {
                answers.add(value);
            }

            @Override
            public void onError(Throwable t) {
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        });
        stream.onNext(image("s-1", "lenet", 0.1f));
        stream.onNext(image("s-2", "no-such-model", 0.1f));
        stream.onNext(image("s-3", "lenet", 0.2f));
        stream.onCompleted();
        assertTrue(done.await(30, TimeUnit.SECONDS));
        List<ModelStreamInferResponse> all = new ArrayList<>(answers);
        assertEquals(3, all.size());
        assertEquals(
                List.of("s-1", "s-3"),
                all.stream()
                        .filter(a -> a.getErrorMessage().isEmpty())
                        .map(a -> a.getInferResponse().getId())
                        .toList());
        assertTrue(
                all.stream().anyMatch(a -> a.getErrorMessage().startsWith("NOT_FOUND")),
                "the bad request errors alone");
    }

    @Test
    void classifyGivesTheSameAnswerAsModelInferOnTheSharedPreprocessing() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        BufferedImage image = new BufferedImage(90, 60, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(3);
        for (int y = 0; y < 60; y++) {
            for (int x = 0; x < 90; x++) {
                image.setRGB(x, y, x > 30 && x < 60 ? 0xE0E0E0 + random.nextInt(16) : random.nextInt(32));
            }
        }
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        ImageIO.write(image, "jpg", jpeg);
        byte[] bytes = jpeg.toByteArray();

        ClassifyRequest request = ClassifyRequest.newBuilder()
                .setRequestId("c-1")
                .setModelName("lenet")
                .setImage(ByteString.copyFrom(bytes))
                .setTopK(3)
                .build();
        Classification classified = scoring.classify(request).getClassification();
        assertEquals("c-1", classified.getRequestId());
        assertEquals(3, classified.getLabelsCount());
        assertEquals(
                classified.getLabelsList(),
                vision.classify(request).getClassification().getLabelsList(),
                "VisionService/Classify answers as ScoringService/Classify");
        StatusRuntimeException captioningsOwn = assertThrows(
                StatusRuntimeException.class,
                () -> vision.caption(io.streamvision.proto.vision.v1.CaptionRequest.newBuilder()
                        .setImage(ByteString.copyFrom(bytes))
                        .build()));
        assertEquals(
                Status.Code.UNIMPLEMENTED,
                captioningsOwn.getStatus().getCode(),
                "VisionService/Caption is the captioning service's");

        ModelConfig config =
                new ModelRepository(Path.of("../../models")).latest("lenet").orElseThrow();
        var tensor = TensorPreparer.prepare(
                new ImageDecoder(ImageLimits.DEFAULT, 0).decode(bytes), config.imageInput(), true);
        ModelInferRequest sent = tensor.toInferRequest("c-1", config).build();
        Classification expected = Classifications.fromResponse(config, sent, inference.modelInfer(sent), 3);
        assertEquals(expected.getLabelsList(), classified.getLabelsList());

        StatusRuntimeException notAnImage = assertThrows(
                StatusRuntimeException.class,
                () -> scoring.classify(ClassifyRequest.newBuilder()
                        .setModelName("lenet")
                        .setImage(ByteString.copyFromUtf8("plain text"))
                        .build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, notAnImage.getStatus().getCode());
        assertTrue(notAnImage.getStatus().getDescription().startsWith("UNSUPPORTED_FORMAT"));

        String metrics = given().get("http://localhost:" + management.getPort() + "/q/metrics")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        assertTrue(
                metrics.contains("vision_inference_exec_count_total{model=\"lenet\""), "Triton-style metrics exported");
        assertTrue(metrics.contains("vision_inference_request_success_total"), "success counter exported");
    }

    @Test
    void scoresTensorRecordsAndDeadLettersWhatCannotBeScored() throws Exception {
        ServiceProcess.awaitReady(management.getPort(), Duration.ofSeconds(90));
        String bootstrap = TestBrokers.bootstrapServers();
        System.out.println("[scoring IT] talking to Kafka at " + bootstrap);
        ModelInferRequest nan = image("k-nan", "lenet", Float.NaN);
        TestClients.send(
                bootstrap,
                List.of(
                        record(
                                TOPICS.tensors("lenet").name(),
                                "k-1",
                                image("k-1", "lenet", 0.8f).toByteArray()),
                        record(
                                TOPICS.tensors("caption-encoder").name(),
                                "k-2",
                                sceneTensor("k-2").toByteArray()),
                        record(
                                TOPICS.tensors("lenet").name(),
                                "k-bad",
                                "not a protobuf".getBytes(StandardCharsets.UTF_8)),
                        record(
                                TOPICS.tensors("lenet").name(),
                                "k-unknown",
                                image("k-unknown", "nope", 0.1f).toByteArray()),
                        record(TOPICS.tensors("lenet").name(), "k-nan", nan.toByteArray())));

        List<ConsumerRecord<byte[], byte[]>> scores =
                TestClients.read(bootstrap, TOPICS.scores().name(), 1, Duration.ofSeconds(60), Duration.ofSeconds(1));
        Map<String, Classification> byId = scores.stream()
                .map(TOPICS.scores()::valueOf)
                .collect(Collectors.toMap(Classification::getRequestId, Function.identity()));
        assertEquals(1, scores.size(), "the caption encoder has no labels, so only lenet scores");
        assertEquals(5, byId.get("k-1").getLabelsCount());

        List<ConsumerRecord<byte[], byte[]>> features =
                TestClients.read(bootstrap, TOPICS.features().name(), 1, Duration.ofSeconds(60), Duration.ofSeconds(1));
        assertEquals(1, features.size(), "lenet publishes no features by default; the caption encoder does");
        ModelInferResponse encoded =
                ModelInferResponse.parseFrom(features.get(0).value());
        assertEquals("k-2", encoded.getId());
        assertEquals("caption-encoder", encoded.getModelName());
        assertEquals(1, encoded.getOutputsCount(), "only the features output travels");
        assertEquals(
                encoded.getOutputs(0).getShape(1) * 4,
                encoded.getRawOutputContents(0).size());

        ModelInferResponse direct = inference.modelInfer(image("k-1", "lenet", 0.8f));
        float[] logits = new float[10];
        direct.getRawOutputContents(0)
                .asReadOnlyByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(logits);
        int best = 0;
        for (int i = 1; i < 10; i++) {
            best = logits[i] > logits[best] ? i : best;
        }
        assertEquals(best, byId.get("k-1").getLabels(0).getIndex(), "Kafka and gRPC paths agree on the top label");

        List<ConsumerRecord<byte[], byte[]>> dlq = TestClients.read(
                bootstrap, TOPICS.deadLetters().name(), 3, Duration.ofSeconds(60), Duration.ofSeconds(1));
        Map<String, ReasonCode> reasons = dlq.stream()
                .map(TOPICS.deadLetters()::valueOf)
                .collect(Collectors.toMap(d -> d.getOriginalKey().toStringUtf8(), DeadLetter::getReason));
        assertEquals(
                Map.of(
                        "k-bad",
                        ReasonCode.DESERIALIZATION_FAILED,
                        "k-unknown",
                        ReasonCode.UNKNOWN_MODEL,
                        "k-nan",
                        ReasonCode.NON_FINITE_VALUES),
                reasons);
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, String key, byte[] value) {
        return new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value);
    }
}
