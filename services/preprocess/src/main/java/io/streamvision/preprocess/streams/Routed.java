package io.streamvision.preprocess.streams;

/**
 * One output of the preprocess step: a serialised record and where it goes.
 *
 * @param requestId request id the output is keyed by
 * @param topic destination topic
 * @param value serialised protobuf message
 * @param deadLetter true for dead letters
 * @param reason reason code name, for dead letters
 * @param stage rejecting stage, for dead letters
 */
public record Routed(String requestId, String topic, byte[] value, boolean deadLetter, String reason, String stage) {

    /** A record for a topic other than the dead-letter topic (tensors, video events). */
    static Routed output(String requestId, String topic, byte[] value) {
        return new Routed(requestId, topic, value, false, null, null);
    }

    static Routed deadLetter(String requestId, String topic, byte[] value, String reason, String stage) {
        return new Routed(requestId, topic, value, true, reason, stage);
    }
}
