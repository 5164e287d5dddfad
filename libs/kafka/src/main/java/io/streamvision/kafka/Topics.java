package io.streamvision.kafka;

import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSegment;
import io.streamvision.proto.vision.v1.VideoSummary;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every topic of the system, in one place, each typed by the protobuf message its records carry
 * ({@link Topic}). Names are versioned; a deployment may append a suffix ({@code
 * vision.kafka.topic-suffix}) so that several installations, or test classes, share one cluster
 * without seeing each other's data.
 *
 * <p>Immutable and thread-safe.
 */
public final class Topics {

    /** Image requests ({@code vision.v1.ImageRequest}), keyed by request id. */
    public static final String IMAGES = "vision.images.v1";

    /** Video requests, keyed by video id. */
    public static final String VIDEOS = "vision.videos.v1";

    /**
     * Video segments to decode ({@code vision.v1.VideoSegment}), keyed by "video id/segment index".
     */
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

    /** Model rollout events ({@code vision.v1.ModelEvent}), keyed by model name. */
    public static final String MODEL_EVENTS = "vision.model-events.v1";

    /** Dead letters ({@code vision.v1.DeadLetter}), keyed by the original key. */
    public static final String DLQ = "vision.dlq.v1";

    private static final String TENSORS_PREFIX = "vision.tensors.";
    private static final String TENSORS_VERSION = ".v1";

    private final String suffix;
    private final ValueFormat outputs;

    /** Topic names with the given suffix appended (empty for none), every value binary protobuf. */
    public Topics(String suffix) {
        this(suffix, ValueFormat.PROTOBUF);
    }

    /**
     * Topic names with the given suffix appended (empty for none); scores, captions, results, video
     * summaries and dead letters written in {@code outputs}, the topics between the services in
     * binary protobuf.
     */
    public Topics(String suffix, ValueFormat outputs) {
        this.suffix = suffix == null ? "" : suffix;
        this.outputs = outputs;
    }

    /** The suffix appended to every name. */
    public String suffix() {
        return suffix;
    }

    public Topic<ImageRequest> images() {
        return new Topic<>(IMAGES + suffix, ImageRequest.getDefaultInstance());
    }

    public Topic<VideoRequest> videos() {
        return new Topic<>(VIDEOS + suffix, VideoRequest.getDefaultInstance());
    }

    public Topic<VideoSegment> videoSegments() {
        return new Topic<>(VIDEO_SEGMENTS + suffix, VideoSegment.getDefaultInstance());
    }

    public Topic<VideoSampled> videoEvents() {
        return new Topic<>(VIDEO_EVENTS + suffix, VideoSampled.getDefaultInstance());
    }

    public Topic<Classification> scores() {
        return new Topic<>(SCORES + suffix, Classification.getDefaultInstance(), outputs);
    }

    public Topic<ModelInferResponse> features() {
        return new Topic<>(FEATURES + suffix, ModelInferResponse.getDefaultInstance());
    }

    public Topic<Caption> captions() {
        return new Topic<>(CAPTIONS + suffix, Caption.getDefaultInstance(), outputs);
    }

    public Topic<ImageResult> results() {
        return new Topic<>(RESULTS + suffix, ImageResult.getDefaultInstance(), outputs);
    }

    public Topic<VideoSummary> videoSummaries() {
        return new Topic<>(VIDEO_SUMMARIES + suffix, VideoSummary.getDefaultInstance(), outputs);
    }

    public Topic<DeadLetter> deadLetters() {
        return new Topic<>(DLQ + suffix, DeadLetter.getDefaultInstance(), outputs);
    }

    public Topic<io.streamvision.proto.vision.v1.ModelEvent> modelEvents() {
        return new Topic<>(MODEL_EVENTS + suffix, io.streamvision.proto.vision.v1.ModelEvent.getDefaultInstance());
    }

    /** Tensor topic of one model: OIP {@code ModelInferRequest} records, keyed by request id. */
    public Topic<ModelInferRequest> tensors(String model) {
        return new Topic<>(TENSORS_PREFIX + model + TENSORS_VERSION + suffix, ModelInferRequest.getDefaultInstance());
    }

    /** Every fixed topic (all but the per-model tensor topics). */
    public List<Topic<?>> all() {
        return List.of(
                images(),
                videos(),
                videoSegments(),
                videoEvents(),
                scores(),
                features(),
                captions(),
                results(),
                videoSummaries(),
                deadLetters(),
                modelEvents());
    }

    /**
     * The service that writes a topic's records, as the data flow goes: preprocess the tensor
     * topics, video segments and video events; scoring the scores and features; captioning the
     * captions, results and video summaries. Empty for the others (requests come from clients, and
     * every service writes dead letters).
     */
    public Optional<String> writer(String topic) {
        if (tensorTopicPattern().matcher(topic).matches()
                || topic.equals(videoSegments().name())
                || topic.equals(videoEvents().name())) {
            return Optional.of("preprocess");
        }
        if (topic.equals(scores().name()) || topic.equals(features().name())) {
            return Optional.of("scoring");
        }
        if (topic.equals(captions().name())
                || topic.equals(results().name())
                || topic.equals(videoSummaries().name())) {
            return Optional.of("captioning");
        }
        return Optional.empty();
    }

    /** The topic of this name (a tensor topic included), when it is one of the system's. */
    public Optional<Topic<?>> named(String name) {
        Matcher tensors = tensorTopicPattern().matcher(name);
        if (tensors.matches()) {
            return Optional.of(tensors(tensors.group(1)));
        }
        return all().stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /** Matches every tensor topic with this suffix; group 1 is the model name. */
    public Pattern tensorTopicPattern() {
        return Pattern.compile(
                Pattern.quote(TENSORS_PREFIX) + "([A-Za-z0-9_-]+)" + Pattern.quote(TENSORS_VERSION + suffix));
    }
}
