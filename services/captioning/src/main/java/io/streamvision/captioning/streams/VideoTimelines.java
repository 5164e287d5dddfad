package io.streamvision.captioning.streams;

import io.streamvision.proto.vision.v1.FrameScore;
import io.streamvision.proto.vision.v1.ModelTimeline;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoAggregateOrBuilder;
import io.streamvision.proto.vision.v1.VideoSummary;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * What a video's aggregation header ({@code VideoAggregate}) and its scored frames say: whether the
 * video is complete, its state, and its summary.
 *
 * <p>A final summary is built from the frames of each model in frame order, read once as a stream:
 * the frames are cut into runs wherever the top label changes; a run lasts from its first frame's
 * presentation time to the next sampled frame's (the last one to its last frame plus one sampling
 * interval, the median gap between sampled frames). A timeline lists at most {@code maxSegments}
 * segments: when there are more runs, runs shorter than {@code ceil(frames / (maxSegments - 1))}
 * frames are merged into the segment before them (runs at the start, into the segment after them);
 * a merged segment carries the label with the most frames in it and that label's mean confidence.
 * Progress summaries carry counts only: per model the frames scored, no segments and no top labels.
 *
 * <p>Memory while building a timeline is bounded by {@code maxSegments} and the number of classes,
 * not by the number of frames. Static functions without shared state; thread-safe.
 */
public final class VideoTimelines {

    /** The scored frames of one video, per model. */
    @FunctionalInterface
    public interface FrameSource {
        /** Hands every frame the model scored to {@code sink}, in frame-index order. */
        void forEach(String model, Consumer<FrameScore> sink);
    }

    private VideoTimelines() {}

    /**
     * How timelines are drawn: at most {@code maxSegments} label segments (and intervals per class
     * of an object track); a class missing from at most {@code objectGapFrames} consecutive sampled
     * frames keeps its interval; at most {@code outOfDomainGapFrames} consecutive out-of-domain
     * frames between two frames of one label do not split its segment (they are not counted in it).
     */
    public record Shape(int maxSegments, int objectGapFrames, int outOfDomainGapFrames) {}

    /**
     * Distinct frames scored by every model: the smallest count over the models the frames went to
     * (over the models that scored any, before a segment event named them).
     */
    public static long framesScored(VideoAggregateOrBuilder aggregate) {
        if (aggregate.getModelsCount() > 0) {
            long min = Long.MAX_VALUE;
            for (String model : aggregate.getModelsList()) {
                min = Math.min(min, aggregate.getFramesScoredOrDefault(model, 0L));
            }
            return min;
        }
        return aggregate.getFramesScoredMap().values().stream()
                .mapToLong(Long::longValue)
                .min()
                .orElse(0);
    }

    /** Scored (model, frame) pairs over all models: what progress updates are counted in. */
    static long scoredPairs(VideoAggregateOrBuilder aggregate) {
        return aggregate.getFramesScoredMap().values().stream()
                .mapToLong(Long::longValue)
                .sum();
    }

    /**
     * True when the events of segments 0..k are all there and segment k said it was the final one.
     */
    public static boolean fullySampled(VideoAggregateOrBuilder aggregate) {
        return aggregate.hasFinalSegment()
                && SegmentBits.segmentsDoneThrough(aggregate.getSegmentsDone(), aggregate.getFinalSegment())
                        == aggregate.getFinalSegment() + 1;
    }

    /**
     * True when the video is fully sampled and every model has scored every sampled frame (a failed
     * segment counts as sampled, with the frames it sent before the failure).
     */
    public static boolean complete(VideoAggregateOrBuilder aggregate) {
        if (!fullySampled(aggregate)) {
            return false;
        }
        for (String model : aggregate.getModelsList()) {
            if (aggregate.getFramesScoredOrDefault(model, 0L) < aggregate.getFramesSampled()) {
                return false;
            }
        }
        return aggregate.getModelsCount() > 0 || aggregate.getFramesSampled() == 0 || aggregate.getFailedSegments() > 0;
    }

    /** The state a header's summary has: IN_PROGRESS until final, then COMPLETE or FAILED. */
    public static VideoSummary.State state(VideoAggregateOrBuilder aggregate) {
        if (!aggregate.getFinalEmitted()) {
            return VideoSummary.State.IN_PROGRESS;
        }
        boolean failed = aggregate.getFailedSegments() > 0
                || !aggregate.getStalledMessage().isEmpty();
        return failed ? VideoSummary.State.FAILED : VideoSummary.State.COMPLETE;
    }

    /** Number of segments once the final one is known, else 0. */
    public static int segments(VideoAggregateOrBuilder aggregate) {
        return aggregate.hasFinalSegment() ? aggregate.getFinalSegment() + 1 : 0;
    }

    /**
     * A progress summary: counts only (frames and segments sampled, frames scored per model),
     * without segments or top labels; the final summary has those.
     */
    public static VideoSummary progress(VideoAggregateOrBuilder aggregate) {
        VideoSummary.Builder s = header(aggregate, state(aggregate));
        for (String model : modelsOf(aggregate)) {
            s.addTimelines(ModelTimeline.newBuilder()
                    .setModelName(model)
                    .setModelVersion(aggregate.getModelVersionsOrDefault(model, ""))
                    .setFramesScored(aggregate.getFramesScoredOrDefault(model, 0L)));
        }
        return s.build();
    }

    /**
     * The full summary: per model, the timeline of its frames and its top labels, and for detection
     * models the object tracks ({@link ObjectTracks}, with {@code objectGapFrames} as hysteresis).
     */
    public static VideoSummary summarize(
            VideoAggregateOrBuilder aggregate, VideoSummary.State state, FrameSource frames, Shape shape) {
        VideoSummary.Builder s = header(aggregate, state);
        for (String model : modelsOf(aggregate)) {
            s.addTimelines(ModelTimelines.timeline(
                    model,
                    aggregate.getModelVersionsOrDefault(model, ""),
                    sink -> frames.forEach(model, sink),
                    aggregate.getFrameRate(),
                    shape,
                    aggregate.getFramesScoredOrDefault(model, 0L)));
        }
        return s.build();
    }

    private static VideoSummary.Builder header(VideoAggregateOrBuilder aggregate, VideoSummary.State state) {
        VideoSummary.Builder s = VideoSummary.newBuilder()
                .setVideoId(aggregate.getVideoId())
                .setState(state)
                .setFinal(state != VideoSummary.State.IN_PROGRESS)
                .setFramesSampled(aggregate.getFramesSampled())
                .setFramesDecoded(aggregate.getFramesDecoded())
                .setFramesSkipped(aggregate.getFramesSkipped())
                .setDurationMs(aggregate.getDurationMs())
                .setFrameRate(aggregate.getFrameRate())
                .setSegmentsSampled(aggregate.getSegmentsDoneCount())
                .setSegments(segments(aggregate))
                .setFirstScoreAtMs(aggregate.getFirstScoreAtMs())
                .setUpdatedAtMs(aggregate.getLastScoreAtMs())
                .setProcessingMs(Math.max(0, aggregate.getLastScoreAtMs() - aggregate.getFirstScoreAtMs()));
        String message = "";
        if (aggregate.getFailedSegments() > 0) {
            int total = Math.max(segments(aggregate), aggregate.getSegmentsDoneCount());
            String first = aggregate.getFailureMessage().isEmpty()
                    ? aggregate.getFailureReason().name()
                    : aggregate.getFailureMessage();
            message = first
                    + " ("
                    + aggregate.getFailedSegments()
                    + " of "
                    + total
                    + (total == 1 ? " segment" : " segments")
                    + " failed)";
            s.setFailureReason(aggregate.getFailureReason());
        }
        if (!aggregate.getStalledMessage().isEmpty()) {
            if (message.isEmpty()) {
                s.setFailureReason(ReasonCode.INFERENCE_FAILED);
                message = aggregate.getStalledMessage();
            } else {
                message = message + "; " + aggregate.getStalledMessage();
            }
        }
        return s.setFailureMessage(message);
    }

    /** Models with scored frames and models the segment events named, by name. */
    private static Set<String> modelsOf(VideoAggregateOrBuilder aggregate) {
        Set<String> models = new TreeSet<>(aggregate.getFramesScoredMap().keySet());
        models.addAll(aggregate.getModelsList());
        return models;
    }

    /**
     * Why a video that stopped changing for {@code timeoutMs} is given up: the segments that were
     * not sampled, or the frames that were not scored.
     */
    public static String stalledMessage(VideoAggregateOrBuilder aggregate, long timeoutMs) {
        long scored = framesScored(aggregate);
        String within = " within " + timeoutMs + " ms";
        int done = aggregate.getSegmentsDoneCount();
        if (!aggregate.hasFinalSegment()) {
            if (done == 0) {
                return "no segment event" + within + " of the last frame (" + scored + " frames scored)";
            }
            String gaps = SegmentBits.missingSegments(
                    aggregate.getSegmentsDone(), SegmentBits.highestSegment(aggregate.getSegmentsDone()));
            return "no final segment event"
                    + within
                    + " ("
                    + done
                    + (done == 1 ? " segment" : " segments")
                    + " sampled"
                    + (gaps.isEmpty() ? "" : ", segments " + gaps + " missing")
                    + "; "
                    + scored
                    + " frames scored)";
        }
        int total = aggregate.getFinalSegment() + 1;
        int missing = total - SegmentBits.segmentsDoneThrough(aggregate.getSegmentsDone(), aggregate.getFinalSegment());
        if (missing > 0) {
            return "segments "
                    + SegmentBits.missingSegments(aggregate.getSegmentsDone(), aggregate.getFinalSegment())
                    + " ("
                    + missing
                    + " of "
                    + total
                    + ") were not sampled"
                    + within
                    + " ("
                    + aggregate.getFramesSampled()
                    + " frames sampled, "
                    + scored
                    + " scored)";
        }
        return (aggregate.getFramesSampled() - scored)
                + " of "
                + aggregate.getFramesSampled()
                + " sampled frames were not scored"
                + within;
    }
}
