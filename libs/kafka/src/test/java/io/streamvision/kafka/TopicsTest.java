package io.streamvision.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which service writes each of the system's topics, with and without a topic suffix. */
class TopicsTest {

    @Test
    void eachOutputTopicHasOneWriterAndInputsHaveNone() {
        for (String suffix : new String[] {"", ".staging"}) {
            Topics topics = new Topics(suffix);
            assertEquals(
                    Optional.of("preprocess"),
                    topics.writer(topics.tensors("resnet50").name()));
            assertEquals(
                    Optional.of("preprocess"),
                    topics.writer(topics.videoSegments().name()));
            assertEquals(
                    Optional.of("preprocess"),
                    topics.writer(topics.videoEvents().name()));
            assertEquals(Optional.of("scoring"), topics.writer(topics.scores().name()));
            assertEquals(Optional.of("scoring"), topics.writer(topics.features().name()));
            assertEquals(
                    Optional.of("captioning"), topics.writer(topics.captions().name()));
            assertEquals(
                    Optional.of("captioning"), topics.writer(topics.results().name()));
            assertEquals(
                    Optional.of("captioning"),
                    topics.writer(topics.videoSummaries().name()));
            assertEquals(Optional.empty(), topics.writer(topics.images().name()), "requests come from clients");
            assertEquals(Optional.empty(), topics.writer(topics.videos().name()));
            assertEquals(Optional.empty(), topics.writer(topics.deadLetters().name()), "every service writes these");
            assertEquals(Optional.empty(), topics.writer("someone-elses-topic"));
        }
        assertEquals(
                Optional.empty(),
                new Topics(".staging").writer(new Topics("").scores().name()));
    }
}
