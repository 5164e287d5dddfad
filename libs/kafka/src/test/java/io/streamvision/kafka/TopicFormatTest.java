package io.streamvision.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.Label;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class TopicFormatTest {

    private static final Classification SCORES = Classification.newBuilder()
            .setRequestId("img-1")
            .setModelName("fashion-cnn")
            .setModelVersion("1")
            .addLabels(Label.newBuilder().setLabel("Bag").setIndex(8).setProbability(0.75f))
            .build();

    @Test
    void jsonOutputsAreProtobufsCanonicalJsonAndReadBack() throws Exception {
        Topics json = new Topics(".t", ValueFormat.JSON);
        byte[] value = json.scores().encode(SCORES);
        String text = new String(value, StandardCharsets.UTF_8);
        assertEquals(
                "{\"request_id\":\"img-1\",\"model_name\":\"fashion-cnn\",\"model_version\":\"1\","
                        + "\"labels\":[{\"label\":\"Bag\",\"index\":8,\"probability\":0.75}]}",
                text);
        assertEquals(SCORES, json.scores().parse(value));
        assertEquals(SCORES, new Topics(".t").scores().parse(value), "a protobuf deployment reads JSON too");
        assertArrayEquals(SCORES.toByteArray(), new Topics(".t").scores().encode(SCORES), "protobuf stays the default");
        assertEquals(SCORES, json.scores().parse(SCORES.toByteArray()), "and a JSON deployment reads protobuf");
    }

    @Test
    void onlyTheOutputsFollowTheFormat() {
        Topics json = new Topics("", ValueFormat.JSON);
        for (Topic<?> t : json.all()) {
            boolean output = t.equals(json.scores())
                    || t.equals(json.captions())
                    || t.equals(json.results())
                    || t.equals(json.videoSummaries())
                    || t.equals(json.deadLetters());
            assertEquals(output ? ValueFormat.JSON : ValueFormat.PROTOBUF, t.format(), t.name());
        }
        assertEquals(ValueFormat.PROTOBUF, json.tensors("lenet").format());
    }

    @Test
    void deadLettersAreWrittenInTheTopicsFormat() throws Exception {
        Topics json = new Topics("", ValueFormat.JSON);
        DeadLetters letters = new DeadLetters(json.deadLetters(), 16);
        DeadLetter letter = letters.describe(
                "test",
                ReasonCode.CORRUPT_IMAGE,
                "not an image",
                new DeadLetters.Source("in", 0, 7, "k".getBytes(), null, new byte[4]));
        byte[] value = letters.toRecord(letter, "k".getBytes(), null).value();
        assertTrue(ValueFormat.isJson(value), new String(value, StandardCharsets.UTF_8));
        assertTrue(new String(value, StandardCharsets.UTF_8).contains("\"reason\":\"CORRUPT_IMAGE\""));
        assertEquals(letter, json.deadLetters().parse(value));
    }

    @Test
    void aMessageOfAnotherTypeAndBadJsonAreRefused() {
        Topics json = new Topics("", ValueFormat.JSON);
        IllegalArgumentException wrong = assertThrows(
                IllegalArgumentException.class,
                () -> json.scores().encode(Caption.newBuilder().setText("x").build()));
        assertTrue(wrong.getMessage().contains("vision.v1.Classification"), wrong.getMessage());
        assertThrows(
                InvalidProtocolBufferException.class,
                () -> json.scores().parse("{\"request_id\": ".getBytes(StandardCharsets.UTF_8)));
        assertThrows(IllegalArgumentException.class, () -> ValueFormat.parse("avro"), "an unknown format is refused");
    }

    @Test
    void jsonIsRecognisedByItsFirstByteOnly() throws Exception {
        assertTrue(ValueFormat.isJson("{}".getBytes(StandardCharsets.UTF_8)));
        assertFalse(ValueFormat.isJson(new byte[0]));
        // Field 1 as a string of 123 bytes: a newline, then the length 0x7B, which is '{'.
        ImageRequest long123 =
                ImageRequest.newBuilder().setRequestId("r".repeat(123)).build();
        assertFalse(ValueFormat.isJson(long123.toByteArray()));
        assertEquals(long123, new Topics("").images().parse(long123.toByteArray()));
        assertFalse(ValueFormat.isJson(SCORES.toByteArray()));
        assertFalse(ValueFormat.isJson(
                ImageRequest.newBuilder().setRequestId("{").build().toByteArray()));
    }

    @Test
    void anUnparsableRecordIsDeadLetteredNamingItsTopicsTypeWithTheBytesKept() throws Exception {
        Topics topics = new Topics(".t");
        DeadLetters deadLetters = new DeadLetters(topics.deadLetters(), 1024);
        byte[] garbage = {(byte) 0xff, 0x01, 0x02};
        var consumed =
                new ConsumerRecord<>(topics.videos().name(), 2, 41L, "v-1".getBytes(StandardCharsets.UTF_8), garbage);
        InvalidProtocolBufferException e = assertThrows(
                InvalidProtocolBufferException.class, () -> topics.videos().parse(garbage));
        var out = deadLetters.unparsable(consumed, "preprocess/video", topics.videos(), e);
        assertEquals(topics.deadLetters().name(), out.topic());
        DeadLetter letter = DeadLetter.parseFrom(out.value());
        assertEquals(ReasonCode.DESERIALIZATION_FAILED, letter.getReason());
        assertEquals("preprocess/video", letter.getStage());
        assertTrue(
                letter.getMessage().startsWith("the record is not a valid vision.v1.VideoRequest: "),
                letter.getMessage());
        assertEquals(41L, letter.getOriginalOffset());
        assertArrayEquals(garbage, letter.getOriginalPayload().toByteArray());
    }
}
