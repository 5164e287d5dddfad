package io.streamvision.captioning.streams;

import com.google.protobuf.ByteString;
import io.streamvision.proto.vision.v1.FrameScore;
import io.streamvision.proto.vision.v1.LabelSegment;
import io.streamvision.proto.vision.v1.LabelShare;
import io.streamvision.proto.vision.v1.ModelTimeline;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoAggregateOrBuilder;
import io.streamvision.proto.vision.v1.VideoSummary;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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

    /** Distinct sampling gaps kept for the median; sampled streams have a handful. */
    private static final int MAX_DISTINCT_GAPS = 4096;

    /** Ranges of missing segments named in a message before the rest is counted. */
    private static final int MAX_NAMED_RANGES = 20;

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
                && segmentsDoneThrough(aggregate.getSegmentsDone(), aggregate.getFinalSegment())
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
            s.addTimelines(timeline(
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
            String gaps = missingSegments(aggregate.getSegmentsDone(), highestSegment(aggregate.getSegmentsDone()));
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
        int missing = total - segmentsDoneThrough(aggregate.getSegmentsDone(), aggregate.getFinalSegment());
        if (missing > 0) {
            return "segments "
                    + missingSegments(aggregate.getSegmentsDone(), aggregate.getFinalSegment())
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

    // --- segments as a bitset: bit i (byte i / 8, bit i % 8) is segment i -----------------------

    /** True when segment {@code index}'s event is recorded in {@code bits}. */
    static boolean segmentDone(ByteString bits, int index) {
        int b = index >>> 3;
        return b < bits.size() && (bits.byteAt(b) & (1 << (index & 7))) != 0;
    }

    /** {@code bits} with segment {@code index} recorded. */
    static ByteString withSegment(ByteString bits, int index) {
        int b = index >>> 3;
        byte[] out = new byte[Math.max(bits.size(), b + 1)];
        bits.copyTo(out, 0);
        out[b] |= (byte) (1 << (index & 7));
        return ByteString.copyFrom(out);
    }

    /** Segments 0..last recorded in {@code bits}. */
    static int segmentsDoneThrough(ByteString bits, int last) {
        int count = 0;
        int full = Math.min(bits.size(), (last + 1) >>> 3);
        for (int b = 0; b < full; b++) {
            count += Integer.bitCount(bits.byteAt(b) & 0xff);
        }
        for (int i = full << 3; i <= last; i++) {
            count += segmentDone(bits, i) ? 1 : 0;
        }
        return count;
    }

    /** The highest segment recorded in {@code bits}, or -1. */
    static int highestSegment(ByteString bits) {
        for (int b = bits.size() - 1; b >= 0; b--) {
            int v = bits.byteAt(b) & 0xff;
            if (v != 0) {
                return (b << 3) + 31 - Integer.numberOfLeadingZeros(v);
            }
        }
        return -1;
    }

    /** Segments of 0..last not in {@code bits}, as ranges ("2, 5-7"); long lists end in a count. */
    static String missingSegments(ByteString bits, int last) {
        StringBuilder out = new StringBuilder();
        int named = 0;
        int unnamed = 0;
        int i = 0;
        while (i <= last) {
            if (segmentDone(bits, i)) {
                i++;
                continue;
            }
            int j = i;
            while (j + 1 <= last && !segmentDone(bits, j + 1)) {
                j++;
            }
            if (named < MAX_NAMED_RANGES) {
                out.append(out.isEmpty() ? "" : ", ").append(i == j ? Integer.toString(i) : i + "-" + j);
                named++;
            } else {
                unnamed += j - i + 1;
            }
            i = j + 1;
        }
        return unnamed == 0 ? out.toString() : out + " and " + unnamed + " more";
    }

    // --- timelines -----------------------------------------------------------------------------

    /**
     * The timeline of one model from its frames in index order. {@code expectedFrames} is how many
     * frames the source holds (the header's count); when it is off and runs had to be merged, the
     * frames are read a second time with the right count.
     */
    static ModelTimeline timeline(
            String model,
            String version,
            Consumer<Consumer<FrameScore>> frames,
            double frameRate,
            Shape shape,
            long expectedFrames) {
        TimelineBuilder timeline = new TimelineBuilder(shape, expectedFrames);
        frames.accept(timeline::add);
        if (timeline.merged() && timeline.frames() != expectedFrames) {
            TimelineBuilder again = new TimelineBuilder(shape, timeline.frames());
            frames.accept(again::add);
            timeline = again;
        }
        return timeline.build(model, version, frameRate);
    }

    /** The timeline of frames held in a list, in index order. */
    static ModelTimeline timeline(
            String model, String version, List<FrameScore> framesInOrder, double frameRate, Shape shape) {
        return timeline(model, version, framesInOrder::forEach, frameRate, shape, framesInOrder.size());
    }

    /** One run: consecutive frames with the same top label. */
    private record Run(
            int index,
            String label,
            long startMs,
            long endMs,
            long firstFrame,
            long lastFrame,
            long frames,
            double confidence) {}

    /** Per-label frames and summed confidence. */
    private static final class LabelStats {
        final String label;
        long frames;
        double confidence;

        LabelStats(String label) {
            this.label = label;
        }
    }

    /**
     * Builds one model's timeline from frames handed over in index order; holds at most {@code
     * maxSegments + 1} runs or segments. Not thread-safe: one per timeline.
     */
    private static final class TimelineBuilder {

        private final int maxSegments;
        private final Shape shape;
        private final long minRun;
        private ObjectTracks objects;
        private final List<Run> runsKept = new ArrayList<>();
        private final List<LabelSegment> segments = new ArrayList<>();
        private final Map<Integer, LabelStats> labels = new TreeMap<>();
        private final Map<Long, long[]> gaps = new HashMap<>();
        private long frames;
        private long outOfDomain;
        private int pendingOutOfDomain;
        private long firstOutOfDomainMs;
        private long lastPtsMs = Long.MIN_VALUE;
        private long runs;
        private boolean merging;
        // the open run
        private FrameScore runFirst;
        private FrameScore previous;
        private long runFrames;
        private double runConfidence;
        // the open merged segment
        private Map<Integer, LabelStats> segmentLabels;
        private Run segmentFirst;
        private Run segmentLast;
        private long segmentFrames;
        private boolean segmentHasLongRun;

        TimelineBuilder(Shape shape, long expectedFrames) {
            this.shape = shape;
            int maxSegments = shape.maxSegments();
            this.maxSegments = maxSegments;
            this.minRun = maxSegments <= 1
                    ? Long.MAX_VALUE
                    : Math.max(1, (expectedFrames + maxSegments - 2) / (maxSegments - 1));
        }

        long frames() {
            return frames;
        }

        boolean merged() {
            return merging;
        }

        void add(FrameScore f) {
            frames++;
            gap(f);
            if (f.getOutOfDomain()) {
                // Unlike the model's training data: its label means nothing. It forms no segment and
                // counts in no label; the run before it goes on if its label comes back within
                // out-of-domain-gap-frames, and otherwise ends at the first such frame.
                outOfDomain++;
                if (pendingOutOfDomain++ == 0) {
                    firstOutOfDomainMs = f.getPtsMs();
                }
                if (runFirst != null && pendingOutOfDomain > shape.outOfDomainGapFrames()) {
                    closeRun(firstOutOfDomainMs);
                }
                return;
            }
            boolean afterOutOfDomain = pendingOutOfDomain > 0;
            pendingOutOfDomain = 0;
            if (f.getDetector()) {
                if (objects == null) {
                    objects = new ObjectTracks(maxSegments, shape.objectGapFrames());
                }
                objects.add(f);
            }
            LabelStats label = labels.computeIfAbsent(f.getIndex(), k -> new LabelStats(f.getLabel()));
            label.frames++;
            label.confidence += f.getProbability();
            if (runFirst != null && f.getIndex() != runFirst.getIndex()) {
                closeRun(afterOutOfDomain ? firstOutOfDomainMs : f.getPtsMs());
            }
            if (runFirst == null) {
                runFirst = f;
                runFrames = 0;
                runConfidence = 0;
            }
            runFrames++;
            runConfidence += f.getProbability();
            previous = f;
        }

        /** Counts the gap from the frame before, for the sampling interval. */
        private void gap(FrameScore f) {
            if (lastPtsMs != Long.MIN_VALUE) {
                long gap = f.getPtsMs() - lastPtsMs;
                long[] count = gaps.get(gap);
                if (count != null) {
                    count[0]++;
                } else if (gaps.size() < MAX_DISTINCT_GAPS) {
                    gaps.put(gap, new long[] {1});
                }
            }
            lastPtsMs = f.getPtsMs();
        }

        private void closeRun(long endMs) {
            Run run = new Run(
                    runFirst.getIndex(),
                    runFirst.getLabel(),
                    runFirst.getPtsMs(),
                    endMs,
                    runFirst.getFrameIndex(),
                    previous.getFrameIndex(),
                    runFrames,
                    runConfidence);
            runFirst = null;
            runs++;
            if (merging) {
                merge(run);
                return;
            }
            runsKept.add(run);
            if (runsKept.size() > maxSegments) {
                merging = true;
                for (Run kept : runsKept) {
                    merge(kept);
                }
                runsKept.clear();
            }
        }

        /** Walks runs in order: a run shorter than minRun joins the open segment. */
        private void merge(Run run) {
            boolean longRun = run.frames() >= minRun;
            if (segmentFirst != null && longRun && segmentHasLongRun) {
                closeSegment();
            }
            if (segmentFirst == null) {
                segmentFirst = run;
                segmentLabels = new LinkedHashMap<>();
                segmentFrames = 0;
                segmentHasLongRun = false;
            }
            segmentLast = run;
            segmentFrames += run.frames();
            segmentHasLongRun |= longRun;
            LabelStats stats = segmentLabels.computeIfAbsent(run.index(), k -> new LabelStats(run.label()));
            stats.frames += run.frames();
            stats.confidence += run.confidence();
        }

        private void closeSegment() {
            int index = segmentFirst.index();
            LabelStats top = null;
            for (Map.Entry<Integer, LabelStats> e : segmentLabels.entrySet()) {
                if (top == null || e.getValue().frames > top.frames) {
                    top = e.getValue();
                    index = e.getKey();
                }
            }
            segments.add(LabelSegment.newBuilder()
                    .setLabel(top.label)
                    .setIndex(index)
                    .setStartMs(segmentFirst.startMs())
                    .setEndMs(segmentLast.endMs())
                    .setFrames(segmentFrames)
                    .setMeanConfidence((float) (top.confidence / top.frames))
                    .setFirstFrameIndex(segmentFirst.firstFrame())
                    .setLastFrameIndex(segmentLast.lastFrame())
                    .build());
            segmentFirst = null;
        }

        ModelTimeline build(String model, String version, double frameRate) {
            if (runFirst != null) {
                closeRun(
                        pendingOutOfDomain > 0
                                ? firstOutOfDomainMs
                                : previous.getPtsMs() + samplingInterval(frameRate));
            }
            ModelTimeline.Builder t = ModelTimeline.newBuilder()
                    .setModelName(model)
                    .setModelVersion(version)
                    .setFramesScored(frames)
                    .setRuns(runs)
                    .setFramesOutOfDomain(outOfDomain)
                    .setSegmentsMerged(merging);
            if (objects != null) {
                t.addAllObjects(objects.build(samplingInterval(frameRate)));
            }
            if (merging) {
                if (segmentFirst != null) {
                    closeSegment();
                }
                t.addAllSegments(segments);
            } else {
                for (Run r : runsKept) {
                    t.addSegments(LabelSegment.newBuilder()
                            .setLabel(r.label())
                            .setIndex(r.index())
                            .setStartMs(r.startMs())
                            .setEndMs(r.endMs())
                            .setFrames(r.frames())
                            .setMeanConfidence((float) (r.confidence() / r.frames()))
                            .setFirstFrameIndex(r.firstFrame())
                            .setLastFrameIndex(r.lastFrame()));
                }
            }
            labels.entrySet().stream()
                    .sorted((a, b) -> a.getValue().frames != b.getValue().frames
                            ? Long.compare(b.getValue().frames, a.getValue().frames)
                            : Integer.compare(a.getKey(), b.getKey()))
                    .forEach(e -> t.addTopLabels(LabelShare.newBuilder()
                            .setLabel(e.getValue().label)
                            .setIndex(e.getKey())
                            .setFrames(e.getValue().frames)
                            .setShare((float) e.getValue().frames / frames)
                            .setMeanConfidence((float) (e.getValue().confidence / e.getValue().frames))));
            return t.build();
        }

        /** Median gap between consecutive sampled frames, or one frame at the stream's rate. */
        private long samplingInterval(double frameRate) {
            long total = 0;
            for (long[] c : gaps.values()) {
                total += c[0];
            }
            if (total == 0) {
                return frameRate > 0 ? Math.round(1000 / frameRate) : 0;
            }
            long target = total / 2;
            long seen = 0;
            for (Map.Entry<Long, long[]> e : new TreeMap<>(gaps).entrySet()) {
                seen += e.getValue()[0];
                if (seen > target) {
                    return e.getKey();
                }
            }
            return 0;
        }
    }
}
