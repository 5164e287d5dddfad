package io.streamvision.preprocess.streams;

import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Routed;
import io.streamvision.proto.vision.v1.DeadLetter;

/**
 * One output of preparing an image: the record value and its topic, with what the record's headers
 * need.
 *
 * @param requestId request id the output is keyed by
 * @param routed the value and the topic it goes to
 * @param reason reason code name, for dead letters
 * @param stage rejecting stage, for dead letters
 */
public record Prepared(String requestId, Routed routed, String reason, String stage) {

    /** A record for a topic other than the dead-letter topic (tensors). */
    static Prepared output(String requestId, String topic, byte[] value) {
        return new Prepared(requestId, Routed.to(topic, value), null, null);
    }

    /** A dead letter, keyed by the request id it names. */
    static Prepared deadLetter(DeadLetters deadLetters, DeadLetter letter) {
        return new Prepared(
                letter.getRequestId(),
                Routed.deadLetter(deadLetters, letter),
                letter.getReason().name(),
                letter.getStage());
    }
}
