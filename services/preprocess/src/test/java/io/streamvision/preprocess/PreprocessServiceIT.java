package io.streamvision.preprocess;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import javax.imageio.ImageIO;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.testing.KafkaBrokerTestResource;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;

@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
class PreprocessServiceIT {

    private static final Topics TOPICS = new Topics(".it-preprocess");

    @Test
    void becomesReadyAndTurnsImagesIntoTensorsAndGarbageIntoDeadLetters() throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
                given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP")));

        String bootstrap = TestBrokers.bootstrapServers();
        System.out.println("[preprocess IT] talking to Kafka at " + bootstrap);
        BufferedImage image = new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 30; y++) {
            for (int x = 0; x < 40; x++) {
                image.getRaster().setSample(x, y, 0, (x * 6) & 0xFF);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(image, "png", png);
        ImageRequest request = ImageRequest.newBuilder().setRequestId("img-1")
                .setImage(ByteString.copyFrom(png.toByteArray())).build();
        TestClients.send(bootstrap, List.of(
                new ProducerRecord<>(TOPICS.images(), "garbage-1".getBytes(StandardCharsets.UTF_8),
                        new byte[] {(byte) 0xFF, 0x01, 0x02, 0x03}),
                new ProducerRecord<>(TOPICS.images(), "img-1".getBytes(StandardCharsets.UTF_8), request.toByteArray())));

        List<ConsumerRecord<byte[], byte[]>> tensors =
                TestClients.read(bootstrap, TOPICS.tensors("tiny-gray"), 1, Duration.ofSeconds(60), Duration.ZERO);
        assertEquals(1, tensors.size(), "one tensor record for the good image");
        ModelInferRequest infer = ModelInferRequest.parseFrom(tensors.get(0).value());
        assertEquals("img-1", infer.getId());
        assertEquals("img-1", new String(tensors.get(0).key(), StandardCharsets.UTF_8));
        assertEquals(List.of(1L, 1L, 28L, 28L), infer.getInputs(0).getShapeList());
        assertEquals("FP32", infer.getInputs(0).getDatatype());
        assertEquals(28 * 28 * 4, infer.getRawInputContents(0).size());

        List<ConsumerRecord<byte[], byte[]>> dlq =
                TestClients.read(bootstrap, TOPICS.deadLetters(), 1, Duration.ofSeconds(60), Duration.ofSeconds(1));
        assertEquals(1, dlq.size(), "exactly one dead letter for the garbage record");
        DeadLetter letter = DeadLetter.parseFrom(dlq.get(0).value());
        assertEquals(ReasonCode.DESERIALIZATION_FAILED, letter.getReason());
        assertEquals("garbage-1", letter.getOriginalKey().toStringUtf8());
        assertEquals(TOPICS.images(), letter.getOriginalTopic());
        assertTrue(letter.getMessage().contains("ImageRequest"), letter.getMessage());
    }

    /**
     * An image over the default 15 MiB limit but inside the 16 MiB record the topics take goes
     * through the real broker and comes back as the service's own TOO_LARGE answer.
     */
    @Test
    void answersAnImageOverTheDefaultLimitWithTooLarge() throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
                given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP")));
        String bootstrap = TestBrokers.bootstrapServers();
        BufferedImage image = new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(image, "png", png);
        byte[] big = java.util.Arrays.copyOf(png.toByteArray(), 15 * 1024 * 1024 + 200 * 1024);
        ImageRequest request = ImageRequest.newBuilder().setRequestId("big-1").setImage(ByteString.copyFrom(big)).build();
        assertTrue(request.getSerializedSize() < 16 * 1024 * 1024, "the request fits one record");
        TestClients.send(bootstrap, List.of(new ProducerRecord<>(TOPICS.images(),
                "big-1".getBytes(StandardCharsets.UTF_8), request.toByteArray())));
        DeadLetter letter = null;
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (letter == null && System.nanoTime() < end) {
            for (ConsumerRecord<byte[], byte[]> r : TestClients.read(bootstrap, TOPICS.deadLetters(), 100,
                    Duration.ofSeconds(5), Duration.ZERO)) {
                DeadLetter candidate = DeadLetter.parseFrom(r.value());
                if (candidate.getOriginalKey().toStringUtf8().equals("big-1")) {
                    letter = candidate;
                }
            }
        }
        assertTrue(letter != null, "a dead letter for the oversized image");
        assertEquals(ReasonCode.TOO_LARGE, letter.getReason());
        assertTrue(letter.getMessage().contains("15728640"), letter.getMessage());
    }
}
