package io.streamvision.kafka;

import java.util.regex.Pattern;

/**
 * Every topic name of the system, in one place. Names are versioned; a deployment may append
 * a suffix ({@code vision.kafka.topic-suffix}) so that several installations, or test
 * classes, share one cluster without seeing each other's data.
 *
 * <p>Immutable and thread-safe.
 */
public final class Topics {

    /** Image requests ({@code vision.v1.ImageRequest}), keyed by request id. */
    public static final String IMAGES = "vision.images.v1";
    /** Video requests, keyed by video id. */
    public static final String VIDEOS = "vision.videos.v1";
    /** Video segments to decode ({@code vision.v1.VideoSegment}), keyed by "video id/segment index". */
    public static final String VIDEO_SEGMENTS = "vision.video-segments.v1";
    /** Per-segment video events ({@code vision.v1.VideoSampled}), keyed by video id. */
    public static final String VIDEO_EVENTS = "vision.video-events.v1";
    /** Top-k classifications ({@code vision.v1.Classification}), keyed by request id. */
    public static final String SCORES = "vision.scores.v1";
    /** Feature vectors for captioning, keyed by request id. */
    public static final String FEATURES = "vision.features.v1";
    /** Captions, keyed by request id. */
    public static final String CAPTIONS = "vision.captions.v1";
    /** Joined per-image results, keyed by request id. */
    public static final String RESULTS = "vision.results.v1";
    /** Per-video label timelines, keyed by video id. */
    public static final String VIDEO_SUMMARIES = "vision.video-summaries.v1";
    /** Dead letters ({@code vision.v1.DeadLetter}), keyed by the original key. */
    public static final String DLQ = "vision.dlq.v1";

    private static final String TENSORS_PREFIX = "vision.tensors.";
    private static final String TENSORS_VERSION = ".v1";

    private final String suffix;

    /** Topic names with the given suffix appended (empty for none). */
    public Topics(String suffix) {
        this.suffix = suffix == null ? "" : suffix;
    }

    /** The suffix appended to every name. */
    public String suffix() {
        return suffix;
    }

    public String images() {
        return IMAGES + suffix;
    }

    public String videos() {
        return VIDEOS + suffix;
    }

    public String videoSegments() {
        return VIDEO_SEGMENTS + suffix;
    }

    public String videoEvents() {
        return VIDEO_EVENTS + suffix;
    }

    public String scores() {
        return SCORES + suffix;
    }

    public String features() {
        return FEATURES + suffix;
    }

    public String captions() {
        return CAPTIONS + suffix;
    }

    public String results() {
        return RESULTS + suffix;
    }

    public String videoSummaries() {
        return VIDEO_SUMMARIES + suffix;
    }

    public String deadLetters() {
        return DLQ + suffix;
    }

    /** Tensor topic of one model: OIP {@code ModelInferRequest} records, keyed by request id. */
    public String tensors(String model) {
        return TENSORS_PREFIX + model + TENSORS_VERSION + suffix;
    }

    /** Matches every tensor topic with this suffix; group 1 is the model name. */
    public Pattern tensorTopicPattern() {
        return Pattern.compile(Pattern.quote(TENSORS_PREFIX) + "([A-Za-z0-9_-]+)"
                + Pattern.quote(TENSORS_VERSION + suffix));
    }
}
