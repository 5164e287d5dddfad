package io.streamvision.captioning.videos;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.streamvision.proto.vision.v1.FrameScore;
import io.streamvision.proto.vision.v1.LabelSegment;
import io.streamvision.proto.vision.v1.LabelShare;
import io.streamvision.proto.vision.v1.ModelTimeline;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoAggregate;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;

/**
 * Turns the frames of a video aggregate into its summary: per model, the frames sorted by
 * index are cut into segments wherever the top label changes; a segment runs from its first
 * frame's presentation time to the next sampled frame's (the last one to its last frame plus
 * one sampling interval). Pure functions; thread-safe.
 */
public final class VideoTimelines {

    private VideoTimelines() {
    }

    /** Distinct frames scored by every model (the smallest count over the models). */
    public static long framesScored(VideoAggregate aggregate) {
        Map<String, Long> perModel = perModelCounts(aggregate);
        return perModel.isEmpty() ? 0 : perModel.values().stream().mapToLong(Long::longValue).min().orElse(0);
    }

    /** True when the end-of-video event is there and every model has scored every sampled frame. */
    public static boolean complete(VideoAggregate aggregate) {
        if (!aggregate.hasEnd()) {
            return false;
        }
        VideoSampled end = aggregate.getEnd();
        Map<String, Long> perModel = perModelCounts(aggregate);
        for (String model : end.getModelsList()) {
            if (perModel.getOrDefault(model, 0L) < end.getFramesSampled()) {
                return false;
            }
        }
        return end.getModelsCount() > 0 || end.getFramesSampled() == 0 || end.getFailed();
    }

    private static Map<String, Long> perModelCounts(VideoAggregate aggregate) {
        Map<String, Long> counts = new TreeMap<>();
        for (FrameScore f : aggregate.getFramesList()) {
            counts.merge(f.getModelName(), 1L, Long::sum);
        }
        return counts;
    }

    /** The state an aggregate's summary has: IN_PROGRESS until final, then COMPLETE or FAILED. */
    public static VideoSummary.State state(VideoAggregate aggregate) {
        if (!aggregate.getFinalEmitted()) {
            return VideoSummary.State.IN_PROGRESS;
        }
        boolean failed = (aggregate.hasEnd() && aggregate.getEnd().getFailed())
                || !aggregate.getStalledMessage().isEmpty();
        return failed ? VideoSummary.State.FAILED : VideoSummary.State.COMPLETE;
    }

    /** The summary of an aggregate in the given state. */
    public static VideoSummary summarize(VideoAggregate aggregate, VideoSummary.State state) {
        VideoSummary.Builder s = VideoSummary.newBuilder().setVideoId(aggregate.getVideoId()).setState(state)
                .setFinal(state != VideoSummary.State.IN_PROGRESS)
                .setFirstScoreAtMs(aggregate.getFirstScoreAtMs()).setUpdatedAtMs(aggregate.getLastScoreAtMs())
                .setProcessingMs(Math.max(0, aggregate.getLastScoreAtMs() - aggregate.getFirstScoreAtMs()));
        VideoSampled end = aggregate.hasEnd() ? aggregate.getEnd() : null;
        double frameRate = 0;
        if (end != null) {
            s.setFramesSampled(end.getFramesSampled()).setFramesDecoded(end.getFramesDecoded())
                    .setDurationMs(end.getDurationMs()).setFrameRate(end.getFrameRate());
            frameRate = end.getFrameRate();
            if (end.getFailed()) {
                s.setFailureReason(end.getFailureReason()).setFailureMessage(end.getFailureMessage());
            }
        }
        if (!aggregate.getStalledMessage().isEmpty() && s.getFailureMessage().isEmpty()) {
            s.setFailureReason(ReasonCode.INFERENCE_FAILED).setFailureMessage(aggregate.getStalledMessage());
        }
        Map<String, List<FrameScore>> byModel = new LinkedHashMap<>();
        aggregate.getFramesList().stream().sorted(Comparator.comparing(FrameScore::getModelName))
                .forEach(f -> byModel.computeIfAbsent(f.getModelName(), m -> new ArrayList<>()).add(f));
        if (end != null) {
            end.getModelsList().forEach(m -> byModel.computeIfAbsent(m, k -> new ArrayList<>()));
        }
        for (Map.Entry<String, List<FrameScore>> e : byModel.entrySet()) {
            s.addTimelines(timeline(e.getKey(), aggregate.getModelVersionsOrDefault(e.getKey(), ""), e.getValue(),
                    frameRate));
        }
        return s.build();
    }

    static ModelTimeline timeline(String model, String version, List<FrameScore> frames, double frameRate) {
        List<FrameScore> sorted = new ArrayList<>(frames);
        sorted.sort(Comparator.comparingLong(FrameScore::getFrameIndex));
        ModelTimeline.Builder t = ModelTimeline.newBuilder().setModelName(model).setModelVersion(version)
                .setFramesScored(sorted.size());
        long interval = samplingInterval(sorted, frameRate);
        int i = 0;
        while (i < sorted.size()) {
            int j = i;
            double confidence = 0;
            while (j < sorted.size() && sorted.get(j).getIndex() == sorted.get(i).getIndex()) {
                confidence += sorted.get(j).getProbability();
                j++;
            }
            FrameScore first = sorted.get(i);
            FrameScore last = sorted.get(j - 1);
            long endMs = j < sorted.size() ? sorted.get(j).getPtsMs() : last.getPtsMs() + interval;
            t.addSegments(LabelSegment.newBuilder().setLabel(first.getLabel()).setIndex(first.getIndex())
                    .setStartMs(first.getPtsMs()).setEndMs(endMs).setFrames(j - i)
                    .setMeanConfidence((float) (confidence / (j - i)))
                    .setFirstFrameIndex(first.getFrameIndex()).setLastFrameIndex(last.getFrameIndex()));
            i = j;
        }
        Map<Integer, long[]> counts = new TreeMap<>();
        Map<Integer, double[]> sums = new TreeMap<>();
        Map<Integer, String> names = new TreeMap<>();
        for (FrameScore f : sorted) {
            counts.computeIfAbsent(f.getIndex(), k -> new long[1])[0]++;
            sums.computeIfAbsent(f.getIndex(), k -> new double[1])[0] += f.getProbability();
            names.putIfAbsent(f.getIndex(), f.getLabel());
        }
        counts.entrySet().stream()
                .sorted((a, b) -> a.getValue()[0] != b.getValue()[0] ? Long.compare(b.getValue()[0], a.getValue()[0])
                        : Integer.compare(a.getKey(), b.getKey()))
                .forEach(c -> t.addTopLabels(LabelShare.newBuilder().setLabel(names.get(c.getKey())).setIndex(c.getKey())
                        .setFrames(c.getValue()[0]).setShare((float) c.getValue()[0] / sorted.size())
                        .setMeanConfidence((float) (sums.get(c.getKey())[0] / c.getValue()[0]))));
        return t.build();
    }

    /** Median gap between consecutive sampled frames, or one frame at the stream's rate. */
    static long samplingInterval(List<FrameScore> sorted, double frameRate) {
        if (sorted.size() < 2) {
            return frameRate > 0 ? Math.round(1000 / frameRate) : 0;
        }
        long[] gaps = new long[sorted.size() - 1];
        for (int k = 1; k < sorted.size(); k++) {
            gaps[k - 1] = sorted.get(k).getPtsMs() - sorted.get(k - 1).getPtsMs();
        }
        java.util.Arrays.sort(gaps);
        return gaps[gaps.length / 2];
    }
}
