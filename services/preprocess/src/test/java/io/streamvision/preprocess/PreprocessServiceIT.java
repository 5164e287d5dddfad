package io.streamvision.preprocess;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.testing.KafkaBrokerTestResource;
import io.streamvision.testing.TensorPixels;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
class PreprocessServiceIT {

    private static final Topics TOPICS = new Topics(".it-preprocess");

    /** Every test starts once the service reports ready (its Kafka Streams application RUNNING). */
    @BeforeEach
    void awaitReady() {
        Awaitility.await()
                .atMost(Duration.ofSeconds(90))
                .untilAsserted(() ->
                        given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP")));
    }

    @Test
    void kafkaStreamsIsHandedTheThreadReplacementPolicy() {
        // The Kafka Streams extension gives the application the one handler bean there is.
        var handlers = io.quarkus.arc.Arc.container()
                .select(org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.class);
        assertTrue(handlers.isResolvable(), "one handler");
        assertTrue(
                handlers.get() instanceof io.streamvision.kafka.StreamThreadReplacement,
                handlers.get().getClass().getName());
    }

    @Test
    void becomesReadyAndTurnsImagesIntoTensorsAndGarbageIntoDeadLetters() throws Exception {

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
        ImageRequest request = ImageRequest.newBuilder()
                .setRequestId("img-1")
                .setImage(ByteString.copyFrom(png.toByteArray()))
                .build();
        TestClients.send(
                bootstrap,
                List.of(
                        new ProducerRecord<>(
                                TOPICS.images().name(),
                                "garbage-1".getBytes(StandardCharsets.UTF_8),
                                new byte[] {(byte) 0xFF, 0x01, 0x02, 0x03}),
                        new ProducerRecord<>(
                                TOPICS.images().name(),
                                "img-1".getBytes(StandardCharsets.UTF_8),
                                request.toByteArray())));

        // Other tests write to the same topics: only this test's keys count.
        List<ConsumerRecord<byte[], byte[]>> tensors =
                awaitKeys(bootstrap, TOPICS.tensors("tiny-gray").name(), Set.of("img-1"));
        assertEquals(1, tensors.size(), "one tensor record for the good image");
        ModelInferRequest infer = ModelInferRequest.parseFrom(tensors.get(0).value());
        assertEquals("img-1", infer.getId());
        assertEquals("img-1", new String(tensors.get(0).key(), StandardCharsets.UTF_8));
        assertEquals(List.of(1L, 1L, 28L, 28L), infer.getInputs(0).getShapeList());
        assertEquals("FP32", infer.getInputs(0).getDatatype());
        assertEquals(28 * 28 * 4, infer.getRawInputContents(0).size());

        List<ConsumerRecord<byte[], byte[]>> dlq = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r :
                TestClients.read(bootstrap, TOPICS.deadLetters().name(), 1000, Duration.ofSeconds(20), Duration.ZERO)) {
            if (DeadLetter.parseFrom(r.value()).getOriginalKey().toStringUtf8().equals("garbage-1")) {
                dlq.add(r);
            }
        }
        assertEquals(1, dlq.size(), "exactly one dead letter for the garbage record");
        DeadLetter letter = DeadLetter.parseFrom(dlq.get(0).value());
        assertEquals(ReasonCode.DESERIALIZATION_FAILED, letter.getReason());
        assertEquals("garbage-1", letter.getOriginalKey().toStringUtf8());
        assertEquals(TOPICS.images().name(), letter.getOriginalTopic());
        assertTrue(letter.getMessage().contains("ImageRequest"), letter.getMessage());
    }

    private static String key(ConsumerRecord<byte[], byte[]> record) {
        return new String(record.key(), StandardCharsets.UTF_8);
    }

    /**
     * The records of a topic under these keys, read again until each key has one or 60 s pass:
     * other tests write to the same topics, so only the keys asked for count.
     */
    private static List<ConsumerRecord<byte[], byte[]>> awaitKeys(
            String bootstrap, String topic, Collection<String> keys) throws Exception {
        List<ConsumerRecord<byte[], byte[]>> mine = List.of();
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < end) {
            mine = TestClients.read(bootstrap, topic, 1000, Duration.ofSeconds(5), Duration.ZERO).stream()
                    .filter(r -> keys.contains(key(r)))
                    .toList();
            if (mine.stream().map(PreprocessServiceIT::key).toList().containsAll(keys)) {
                break;
            }
        }
        return mine;
    }

    /** The dead letter of the input record with this key, waiting up to 60 s for it. */
    private static DeadLetter awaitDeadLetter(String bootstrap, String originalKey) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < end) {
            for (ConsumerRecord<byte[], byte[]> r : TestClients.read(
                    bootstrap, TOPICS.deadLetters().name(), 1000, Duration.ofSeconds(5), Duration.ZERO)) {
                DeadLetter candidate = DeadLetter.parseFrom(r.value());
                if (candidate.getOriginalKey().toStringUtf8().equals(originalKey)) {
                    return candidate;
                }
            }
        }
        throw new AssertionError("no dead letter for the record with key " + originalKey + " within 60 s");
    }

    /**
     * An image over the default 15 MiB limit but inside the 16 MiB record the topics take goes
     * through the real broker and comes back as the service's own TOO_LARGE answer.
     */
    @Test
    void answersAnImageOverTheDefaultLimitWithTooLarge() throws Exception {
        String bootstrap = TestBrokers.bootstrapServers();
        BufferedImage image = new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(image, "png", png);
        byte[] big = Arrays.copyOf(png.toByteArray(), 15 * 1024 * 1024 + 200 * 1024);
        ImageRequest request = ImageRequest.newBuilder()
                .setRequestId("big-1")
                .setImage(ByteString.copyFrom(big))
                .build();
        assertTrue(request.getSerializedSize() < 16 * 1024 * 1024, "the request fits one record");
        TestClients.send(
                bootstrap,
                List.of(new ProducerRecord<>(
                        TOPICS.images().name(), "big-1".getBytes(StandardCharsets.UTF_8), request.toByteArray())));
        DeadLetter letter = awaitDeadLetter(bootstrap, "big-1");
        assertEquals(ReasonCode.TOO_LARGE, letter.getReason());
        assertTrue(letter.getMessage().contains("15728640"), letter.getMessage());
    }

    /**
     * Real photographs (training/photo_fixtures.py) through the broker and the service agree with
     * torchvision's ImageNet recipe on PIL's decode within mean 0.5/255 and max 2/255, for a model
     * that ignores embedded profiles (the default) and one that asks for sRGB.
     */
    @Test
    void preparesRealPhotographsAsTorchvisionDoes() throws Exception {
        String bootstrap = TestBrokers.bootstrapServers();
        Path photos = io.streamvision.testing.TestModels.root().resolve("libs/media/src/test/resources/photos");
        JsonNode cases = new ObjectMapper()
                .readTree(photos.resolve("cases.json").toFile())
                .get("cases");
        Map<String, String> references = new HashMap<>();
        List<ProducerRecord<byte[], byte[]>> requests = new ArrayList<>();
        for (JsonNode c : cases) {
            String file = c.get("file").asText();
            references.put(
                    file + "/" + c.get("colour_management").asText(),
                    c.get("reference").asText());
            if (c.get("colour_management").asText().equals("none")) {
                ImageRequest request = ImageRequest.newBuilder()
                        .setRequestId("photo-" + file)
                        .setImage(ByteString.copyFrom(Files.readAllBytes(photos.resolve(file))))
                        .addModels("imagenet-photo")
                        .addModels("imagenet-photo-srgb")
                        .build();
                requests.add(new ProducerRecord<>(
                        TOPICS.images().name(),
                        ("photo-" + file).getBytes(StandardCharsets.UTF_8),
                        request.toByteArray()));
            }
        }
        TestClients.send(bootstrap, requests);
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        for (String model : List.of("imagenet-photo", "imagenet-photo-srgb")) {
            // Only this test's photos: the topic also carries other tests' images.
            Set<String> ids = new HashSet<>();
            requests.forEach(r -> ids.add(new String(r.key(), StandardCharsets.UTF_8)));
            List<ConsumerRecord<byte[], byte[]>> tensors =
                    awaitKeys(bootstrap, TOPICS.tensors(model).name(), ids);
            assertEquals(requests.size(), tensors.size(), "one tensor per photo for " + model);
            for (ConsumerRecord<byte[], byte[]> record : tensors) {
                ModelInferRequest infer = ModelInferRequest.parseFrom(record.value());
                String file = infer.getId().substring("photo-".length());
                String mode = model.endsWith("srgb") && references.containsKey(file + "/srgb") ? "srgb" : "none";
                BufferedImage reference = ImageIO.read(
                        photos.resolve(references.get(file + "/" + mode)).toFile());
                byte[] rgb = new byte[224 * 224 * 3];
                for (int y = 0, i = 0; y < 224; y++) {
                    for (int x = 0; x < 224; x++) {
                        int p = reference.getRGB(x, y);
                        rgb[i++] = (byte) (p >> 16);
                        rgb[i++] = (byte) (p >> 8);
                        rgb[i++] = (byte) p;
                    }
                }
                double[] diff =
                        TensorPixels.difference(infer.getRawInputContents(0).toByteArray(), rgb, 224 * 224, mean, std);
                System.out.printf(
                        "[photo via Kafka] %-20s %-20s mean |diff| %.3f/255, max %.2f/255%n",
                        file, model, diff[0], diff[1]);
                assertTrue(diff[0] <= 0.5 && diff[1] <= 2.0, file + " for " + model + ": " + diff[0] + " / " + diff[1]);
            }
        }
    }

    /**
     * A raw image as the record value with a content-type: image/... header (what kcat sends)
     * becomes a tensor under the record's key, with the models from x-models; a record with that
     * header that is not an image gets a dead letter. When kcat is installed it sends one too.
     */
    @Test
    void acceptsRawImagesWithAContentTypeHeader() throws Exception {
        String bootstrap = TestBrokers.bootstrapServers();
        BufferedImage image = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        ImageIO.write(image, "jpg", jpeg);
        ProducerRecord<byte[], byte[]> raw = new ProducerRecord<>(
                TOPICS.images().name(), "my-id".getBytes(StandardCharsets.UTF_8), jpeg.toByteArray());
        raw.headers()
                .add("content-type", "image/jpeg".getBytes(StandardCharsets.UTF_8))
                .add("x-models", "tiny-gray".getBytes(StandardCharsets.UTF_8));
        ProducerRecord<byte[], byte[]> notImage = new ProducerRecord<>(
                TOPICS.images().name(),
                "not-an-image".getBytes(StandardCharsets.UTF_8),
                "hello".getBytes(StandardCharsets.UTF_8));
        notImage.headers().add("content-type", "image/png".getBytes(StandardCharsets.UTF_8));
        TestClients.send(bootstrap, List.of(raw, notImage));
        List<String> keys = new ArrayList<>(List.of("my-id"));
        boolean kcat = false;
        try {
            kcat = new ProcessBuilder("kcat", "-V").start().waitFor() == 0;
        } catch (IOException e) {
            System.out.println(
                    "[preprocess IT] kcat is not installed (apt-get install kcat); sent with a Java producer only");
        }
        if (kcat) {
            Path file = Files.createTempFile("raw-", ".jpg");
            Files.write(file, jpeg.toByteArray());
            Process p = new ProcessBuilder(
                            "kcat",
                            "-P",
                            "-b",
                            bootstrap,
                            "-t",
                            TOPICS.images().name(),
                            "-H",
                            "content-type=image/jpeg",
                            "-H",
                            "x-models=tiny-gray",
                            "-k",
                            "kcat-id",
                            file.toString())
                    .redirectErrorStream(true)
                    .start();
            assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            keys.add("kcat-id");
        }
        Map<String, ModelInferRequest> byKey = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r :
                awaitKeys(bootstrap, TOPICS.tensors("tiny-gray").name(), keys)) {
            byKey.put(key(r), ModelInferRequest.parseFrom(r.value()));
        }
        for (String key : keys) {
            assertTrue(byKey.containsKey(key), "a tensor under the key " + key + " (have " + byKey.keySet() + ")");
            assertEquals(key, byKey.get(key).getId());
            assertEquals(List.of(1L, 1L, 28L, 28L), byKey.get(key).getInputs(0).getShapeList());
        }
        DeadLetter letter = awaitDeadLetter(bootstrap, "not-an-image");
        assertEquals(ReasonCode.UNSUPPORTED_FORMAT, letter.getReason());
    }

    /**
     * A 12-megapixel camera-sized JPEG (4000×3000, about 3 MB) through the broker and the service
     * becomes the same ImageNet tensor the image code makes from it directly.
     */
    @Test
    void preparesATwelveMegapixelPhotoThroughKafka() throws Exception {
        String bootstrap = TestBrokers.bootstrapServers();
        BufferedImage image = new BufferedImage(4000, 3000, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(4);
        for (int y = 0; y < 3000; y++) {
            for (int x = 0; x < 4000; x++) {
                image.setRGB(x, y, (x * 255 / 4000) << 16 | (y * 255 / 3000) << 8 | random.nextInt(256));
            }
        }
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        ImageIO.write(image, "jpg", jpeg);
        ImageRequest request = ImageRequest.newBuilder()
                .setRequestId("photo-12mp")
                .setImage(ByteString.copyFrom(jpeg.toByteArray()))
                .addModels("imagenet-photo")
                .build();
        TestClients.send(
                bootstrap,
                List.of(new ProducerRecord<>(
                        TOPICS.images().name(), "photo-12mp".getBytes(StandardCharsets.UTF_8), request.toByteArray())));
        List<ConsumerRecord<byte[], byte[]>> tensors =
                awaitKeys(bootstrap, TOPICS.tensors("imagenet-photo").name(), Set.of("photo-12mp"));
        assertEquals(1, tensors.size(), "one tensor for the " + jpeg.size() + "-byte 12 MP photo");
        ModelInferRequest infer = ModelInferRequest.parseFrom(tensors.get(0).value());
        assertEquals(List.of(1L, 3L, 224L, 224L), infer.getInputs(0).getShapeList());
        ModelConfig config = new ModelRepository(Path.of("src/test/resources/model-repo"))
                .latest("imagenet-photo")
                .orElseThrow();
        byte[] direct = TensorPreparer.prepare(
                        new ImageDecoder(ImageLimits.DEFAULT, 0).decode(jpeg.toByteArray()), config.imageInput(), false)
                .data();
        assertTrue(
                Arrays.equals(direct, infer.getRawInputContents(0).toByteArray()),
                "the tensor equals the image code's");
    }
}
