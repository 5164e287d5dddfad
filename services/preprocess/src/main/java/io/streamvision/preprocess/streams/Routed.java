package io.streamvision.preprocess.streams;

/**
 * One output of the preprocess step: a serialised record and where it goes.
 *
 * @param topic destination topic
 * @param value serialised protobuf message
 * @param deadLetter true for dead letters
 * @param reason reason code name, for dead letters
 * @param stage rejecting stage, for dead letters
 */
public record Routed(String topic, byte[] value, boolean deadLetter, String reason, String stage) {

    static Routed tensor(String topic, byte[] value) {
        return new Routed(topic, value, false, null, null);
    }

    static Routed deadLetter(String topic, byte[] value, String reason, String stage) {
        return new Routed(topic, value, true, reason, stage);
    }
}
