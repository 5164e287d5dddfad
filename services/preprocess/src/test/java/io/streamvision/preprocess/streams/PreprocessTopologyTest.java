package io.streamvision.preprocess.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PreprocessTopologyTest {

    private ImageTopologyHarness harness;
    private TestInputTopic<byte[], byte[]> images;
    private TestOutputTopic<byte[], byte[]> tensors;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeEach
    void setUp() {
        harness = new ImageTopologyHarness(
                "preprocess-topology-test", new ImageLimits(1 << 20, 4096, 4096, 4096L * 4096), 64);
        images = harness.images();
        tensors = harness.tensors();
        deadLetters = harness.deadLetters();
    }

    @AfterEach
    void tearDown() {
        harness.close();
    }

    static byte[] png(int width, int height, int value) throws Exception {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.getRaster().setSample(x, y, 0, value);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    static byte[] noisePng(int width, int height) throws Exception {
        Random random = new Random(7);
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.getRaster().setSample(x, y, 0, random.nextInt(256));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    private static byte[] key(String k) {
        return k.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void turnsAnImageIntoANormalisedTensorKeyedByRequestId() throws Exception {
        ImageRequest request = ImageRequest.newBuilder()
                .setRequestId("r-1")
                .setImage(ByteString.copyFrom(png(56, 56, 255)))
                .build();
        images.pipeInput(new TestRecord<>(key("ignored-key"), request.toByteArray()));
        TestRecord<byte[], byte[]> out = tensors.readRecord();
        assertEquals("r-1", new String(out.key(), StandardCharsets.UTF_8));
        ModelInferRequest infer = ModelInferRequest.parseFrom(out.value());
        assertEquals("tiny-gray", infer.getModelName());
        assertEquals("", infer.getModelVersion(), "no version: the scoring service's rollout picks it");
        assertEquals(
                "1", infer.getParametersOrThrow("prepared_version").getStringParam(), "the config that prepared it");
        assertEquals(List.of(1L, 1L, 28L, 28L), infer.getInputs(0).getShapeList());
        float[] values = new float[28 * 28];
        infer.getRawInputContents(0)
                .asReadOnlyByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(values);
        float expected = (1.0f - 0.5f) / 0.25f;
        assertTrue(
                Arrays.stream(toDoubles(values)).allMatch(v -> Math.abs(v - expected) < 1e-5), "white is (1-mean)/std");
        assertTrue(tensors.isEmpty() && deadLetters.isEmpty());
    }

    @Test
    void takesAnImageRequestInProtobufsJsonMapping() throws Exception {
        String json = "{\"request_id\": \"j-1\", \"top_k\": 2, \"image\": \""
                + Base64.getEncoder().encodeToString(png(40, 40, 200))
                + "\"}";
        images.pipeInput(key("j-1"), json.getBytes(StandardCharsets.UTF_8));
        TestRecord<byte[], byte[]> out = tensors.readRecord();
        assertEquals("j-1", new String(out.key(), StandardCharsets.UTF_8));
        assertEquals(
                List.of(1L, 1L, 28L, 28L),
                ModelInferRequest.parseFrom(out.value()).getInputs(0).getShapeList());

        images.pipeInput(key("j-2"), "{\"request_id\": \"j-2\", \"image\": 7}".getBytes(StandardCharsets.UTF_8));
        DeadLetter letter = DeadLetter.parseFrom(deadLetters.readValue());
        assertEquals(ReasonCode.DESERIALIZATION_FAILED, letter.getReason(), letter.getMessage());
    }

    @Test
    void rejectsTruncatedPngToDeadLetterTopicWithItsKeyAndHeaders() throws Exception {
        byte[] full = noisePng(64, 64);
        byte[] truncated = Arrays.copyOf(full, full.length / 2);
        ImageRequest request = ImageRequest.newBuilder()
                .setImage(ByteString.copyFrom(truncated))
                .build();
        TestRecord<byte[], byte[]> in = new TestRecord<>(key("t-1"), request.toByteArray());
        in.headers().add("traceparent", "00-abc-def-01".getBytes(StandardCharsets.UTF_8));
        images.pipeInput(in);
        TestRecord<byte[], byte[]> out = deadLetters.readRecord();
        DeadLetter letter = DeadLetter.parseFrom(out.value());
        assertTrue(
                letter.getReason() == ReasonCode.TRUNCATED || letter.getReason() == ReasonCode.CORRUPT_IMAGE,
                letter.getReason() + ": " + letter.getMessage());
        assertEquals("t-1", letter.getOriginalKey().toStringUtf8());
        assertEquals("preprocess/decode", letter.getStage());
        assertTrue(letter.getPayloadTruncated(), "payload is cut at the configured cap");
        assertEquals(64, letter.getOriginalPayload().size());
        assertEquals("00-abc-def-01", RecordHeaders.text(out.headers(), "traceparent"));
        assertEquals(letter.getReason().name(), RecordHeaders.text(out.headers(), RecordHeaders.DLQ_REASON));
        assertTrue(tensors.isEmpty());
    }

    @Test
    void rejectsUnknownModelsAndOversizedImagesButServesTheRest() throws Exception {
        ImageRequest twoModels = ImageRequest.newBuilder()
                .setRequestId("m-1")
                .setImage(ByteString.copyFrom(png(30, 30, 10)))
                .addModels("tiny-gray")
                .addModels("no-such-model")
                .build();
        images.pipeInput(key("m-1"), twoModels.toByteArray());
        assertEquals(1, tensors.readRecordsToList().size(), "the known model still gets its tensor");
        DeadLetter unknown = DeadLetter.parseFrom(deadLetters.readValue());
        assertEquals(ReasonCode.UNKNOWN_MODEL, unknown.getReason());
        assertTrue(unknown.getMessage().contains("no-such-model"));

        ImageRequest huge = ImageRequest.newBuilder()
                .setImage(ByteString.copyFrom(png(5000, 10, 1)))
                .build();
        images.pipeInput(key("h-1"), huge.toByteArray());
        assertEquals(
                ReasonCode.DIMENSIONS_EXCEEDED,
                DeadLetter.parseFrom(deadLetters.readValue()).getReason());

        images.pipeInput(
                key("e-1"),
                ImageRequest.newBuilder().setRequestId("e-1").build().toByteArray());
        assertEquals(
                ReasonCode.BAD_REQUEST,
                DeadLetter.parseFrom(deadLetters.readValue()).getReason());

        images.pipeInput(
                key("x-1"),
                ImageRequest.newBuilder()
                        .setImage(ByteString.copyFromUtf8("hello, not an image"))
                        .build()
                        .toByteArray());
        assertEquals(
                ReasonCode.UNSUPPORTED_FORMAT,
                DeadLetter.parseFrom(deadLetters.readValue()).getReason());
        assertTrue(deadLetters.isEmpty());
    }

    private static double[] toDoubles(float[] values) {
        double[] d = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            d[i] = values[i];
        }
        return d;
    }
}
