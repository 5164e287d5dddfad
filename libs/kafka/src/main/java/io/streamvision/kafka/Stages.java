package io.streamvision.kafka;

/**
 * Every dead letter's {@code stage}, in one place: the step of the pipeline that refused the record,
 * as {@code <service>/<step>}. Consumers of {@code vision.dlq.v1} filter and count by these values
 * (and the {@code x-dlq-stage} header), so they are part of the contract: a new stage is added here,
 * an existing one is never renamed.
 */
public final class Stages {

    private Stages() {}

    /** An image request that does not parse, or has no image. */
    public static final String PREPROCESS_PARSE = "preprocess/parse";

    /** An image that cannot be decoded (corrupt, unsupported, too large). */
    public static final String PREPROCESS_DECODE = "preprocess/decode";

    /** A decoded image that cannot be turned into a model's tensor. */
    public static final String PREPROCESS_PREPARE = "preprocess/prepare";

    /** A video request or segment that cannot be planned, opened or decoded. */
    public static final String PREPROCESS_VIDEO = "preprocess/video";

    /** A tensor record the scoring service cannot score (unknown model, bad tensor, out of domain). */
    public static final String SCORING_SCORE = "scoring/score";

    /** A features record the captioning service cannot decode into a caption. */
    public static final String CAPTIONING_DECODE = "captioning/decode";

    /** A per-segment video event the video summaries cannot use. */
    public static final String CAPTIONING_VIDEO_EVENTS = "captioning/video-events";

    /** A frame score the video summaries cannot use. */
    public static final String CAPTIONING_VIDEO_FRAMES = "captioning/video-frames";

    /** A part of an image's result (score, caption) that cannot be joined. */
    public static final String CAPTIONING_RESULTS = "captioning/results";

    /** A batch a transactional loop's handler failed on: {@code <loop name>/process}. */
    public static String loopProcess(String loop) {
        return loop + "/process";
    }

    /** An output a transactional loop could not produce (too large): {@code <loop name>/produce}. */
    public static String loopProduce(String loop) {
        return loop + "/produce";
    }
}
