package io.streamvision.captioning.streams;

import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The key layout of the scored-frames store ({@link VideoSummaryTopology#FRAMES_STORE}): video id,
 * NUL, model, NUL, the frame index in 19 digits. Keys sort by video, then model, then frame, so one
 * prefix scan reads a video's frames of one model in order, and another deletes a video's frames.
 * A video id may itself begin with another's id and a NUL: scans check the rest of each key's shape.
 */
final class VideoFrameKeys {

    /** Writes the prefixes of scans as the store's keys are written. */
    static final StringSerializer SERIALIZER = new StringSerializer();

    private static final char SEP = '\u0000';
    private static final int INDEX_DIGITS = 19;

    private VideoFrameKeys() {}

    /** The key of one scored frame. */
    static String frame(String videoId, String model, long frameIndex) {
        String index = Long.toString(frameIndex);
        return videoId + SEP + model + SEP + "0".repeat(INDEX_DIGITS - index.length()) + index;
    }

    /** True when a model name can be part of a key (not empty, no NUL). */
    static boolean validModel(String model) {
        return !model.isEmpty() && model.indexOf(SEP) < 0;
    }

    /** The prefix of a video's frames of one model. */
    static String modelPrefix(String videoId, String model) {
        return videoId + SEP + model + SEP;
    }

    /** True when {@code key}, found by a scan of {@link #modelPrefix}, is one of those frames. */
    static boolean isFrameOfModel(String key, String modelPrefix) {
        return key.length() == modelPrefix.length() + INDEX_DIGITS;
    }

    /** The prefix of all of a video's frames. */
    static String videoPrefix(String videoId) {
        return videoId + SEP;
    }

    /** True when {@code key}, found by a scan of {@link #videoPrefix}, is one of that video's frames. */
    static boolean isFrameOfVideo(String key, String videoPrefix) {
        int sep = key.indexOf(SEP, videoPrefix.length());
        return sep > videoPrefix.length() && key.length() - sep - 1 == INDEX_DIGITS && key.indexOf(SEP, sep + 1) < 0;
    }

    /** A key as readable text (NUL shown as '/'). */
    static String readable(String key) {
        return key.replace(SEP, '/');
    }
}
