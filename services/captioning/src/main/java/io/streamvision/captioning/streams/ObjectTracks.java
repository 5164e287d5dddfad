package io.streamvision.captioning.streams;

import io.streamvision.proto.vision.v1.FrameObjects;
import io.streamvision.proto.vision.v1.FrameScore;
import io.streamvision.proto.vision.v1.ObjectInterval;
import io.streamvision.proto.vision.v1.ObjectTrack;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds a detection model's object timeline for one video from its frames, handed over in index
 * order: for each class, the intervals in which it is present. An interval opens at the first
 * frame that holds the class and ends at the first sampled frame of a run of more than {@code
 * gapFrames} consecutive frames without it (so one missed detection does not split it), or, at the
 * end of the video, one sampling interval after the last frame that held it. Each interval and each
 * track carries its frames, the most objects of the class in one frame and the mean of the class's
 * best score per frame.
 *
 * <p>Memory is bounded by the number of classes times {@code maxIntervals}, not by the length of the
 * video: when a class has more intervals, the two separated by the shortest gap are joined, and the
 * track says so. Not thread-safe: one per timeline.
 */
final class ObjectTracks {

    private final int maxIntervals;
    private final int gapFrames;
    private final Map<Integer, Track> tracks = new TreeMap<>();

    /**
     * @param maxIntervals most intervals one class lists (at least 1)
     * @param gapFrames consecutive sampled frames a class may be missing from without its interval
     *     ending (0: every miss ends it)
     */
    ObjectTracks(int maxIntervals, int gapFrames) {
        this.maxIntervals = Math.max(1, maxIntervals);
        this.gapFrames = Math.max(0, gapFrames);
    }

    /** Adds the next frame (in frame-index order) of a detection model. */
    void add(FrameScore frame) {
        Map<Integer, FrameObjects> present = new TreeMap<>();
        for (FrameObjects o : frame.getObjectsList()) {
            present.put(o.getIndex(), o);
        }
        for (Map.Entry<Integer, Track> e : tracks.entrySet()) {
            Track t = e.getValue();
            if (t.open && !present.containsKey(e.getKey())) {
                t.missed++;
                if (t.missed == 1) {
                    t.endMs = frame.getPtsMs();
                }
                if (t.missed > gapFrames) {
                    t.close(t.endMs, maxIntervals);
                }
            }
        }
        for (FrameObjects o : present.values()) {
            tracks.computeIfAbsent(o.getIndex(), k -> new Track(o.getLabel())).see(frame, o);
        }
    }

    /** The tracks, by class index; open intervals end one {@code samplingIntervalMs} after their last frame. */
    List<ObjectTrack> build(long samplingIntervalMs) {
        List<ObjectTrack> out = new ArrayList<>(tracks.size());
        for (Map.Entry<Integer, Track> e : tracks.entrySet()) {
            Track t = e.getValue();
            if (t.open) {
                t.close(t.missed > 0 ? t.endMs : t.lastSeenMs + samplingIntervalMs, maxIntervals);
            }
            out.add(ObjectTrack.newBuilder()
                    .setLabel(t.label)
                    .setIndex(e.getKey())
                    .addAllIntervals(t.intervals)
                    .setFrames(t.frames)
                    .setPeakCount(t.peak)
                    .setMeanScore((float) (t.scoreSum / t.frames))
                    .setIntervalsMerged(t.merged)
                    .build());
        }
        return out;
    }

    /** One class: its totals, its closed intervals and the open one. */
    private static final class Track {
        final String label;
        final List<ObjectInterval> intervals = new ArrayList<>();
        long frames;
        int peak;
        double scoreSum;
        boolean merged;
        // the open interval
        boolean open;
        long startMs;
        long firstFrame;
        long lastFrame;
        long lastSeenMs;
        long endMs;
        int missed;
        long openFrames;
        int openPeak;
        double openScoreSum;

        Track(String label) {
            this.label = label;
        }

        void see(FrameScore frame, FrameObjects o) {
            if (!open) {
                open = true;
                startMs = frame.getPtsMs();
                firstFrame = frame.getFrameIndex();
                openFrames = 0;
                openPeak = 0;
                openScoreSum = 0;
            }
            missed = 0;
            lastFrame = frame.getFrameIndex();
            lastSeenMs = frame.getPtsMs();
            openFrames++;
            openPeak = Math.max(openPeak, o.getCount());
            openScoreSum += o.getMaxScore();
            frames++;
            peak = Math.max(peak, o.getCount());
            scoreSum += o.getMaxScore();
        }

        void close(long end, int maxIntervals) {
            open = false;
            missed = 0;
            intervals.add(ObjectInterval.newBuilder()
                    .setStartMs(startMs)
                    .setEndMs(Math.max(end, startMs))
                    .setFrames(openFrames)
                    .setPeakCount(openPeak)
                    .setMeanScore((float) (openScoreSum / openFrames))
                    .setFirstFrameIndex(firstFrame)
                    .setLastFrameIndex(lastFrame)
                    .build());
            if (intervals.size() > maxIntervals) {
                joinShortestGap();
            }
        }

        /** Joins the two neighbouring intervals with the shortest gap between them. */
        private void joinShortestGap() {
            int best = 0;
            long bestGap = Long.MAX_VALUE;
            for (int i = 0; i + 1 < intervals.size(); i++) {
                long gap = intervals.get(i + 1).getStartMs() - intervals.get(i).getEndMs();
                if (gap < bestGap) {
                    bestGap = gap;
                    best = i;
                }
            }
            ObjectInterval a = intervals.get(best);
            ObjectInterval b = intervals.remove(best + 1);
            long n = a.getFrames() + b.getFrames();
            intervals.set(
                    best,
                    a.toBuilder()
                            .setEndMs(b.getEndMs())
                            .setFrames(n)
                            .setPeakCount(Math.max(a.getPeakCount(), b.getPeakCount()))
                            .setMeanScore((float) ((a.getMeanScore() * (double) a.getFrames()
                                            + b.getMeanScore() * (double) b.getFrames())
                                    / n))
                            .setLastFrameIndex(b.getLastFrameIndex())
                            .build());
            merged = true;
        }
    }
}
