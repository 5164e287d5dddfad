package io.streamvision.captioning.streams;

import io.streamvision.proto.vision.v1.FrameScore;
import io.streamvision.proto.vision.v1.LabelSegment;
import io.streamvision.proto.vision.v1.LabelShare;
import io.streamvision.proto.vision.v1.ModelTimeline;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * One model's timeline of a video from its scored frames, read once in frame order: runs of the
 * same top label become segments (merged down to the summary's maximum), with the top labels,
 * object tracks of detectors and out-of-domain counts. Memory is bounded by the maximum segments
 * and the number of classes, not by the number of frames ({@link VideoTimelines} says how runs are
 * cut and merged). Static functions; each call builds its own state; thread-safe.
 */
final class ModelTimelines {

    /** Distinct sampling gaps kept for the median; sampled streams have a handful. */
    private static final int MAX_DISTINCT_GAPS = 4096;

    private ModelTimelines() {}

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
            VideoTimelines.Shape shape,
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
            String model,
            String version,
            List<FrameScore> framesInOrder,
            double frameRate,
            VideoTimelines.Shape shape) {
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
        private final VideoTimelines.Shape shape;
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

        TimelineBuilder(VideoTimelines.Shape shape, long expectedFrames) {
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
