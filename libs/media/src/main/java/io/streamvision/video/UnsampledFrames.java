package io.streamvision.video;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Decides, packet by packet and before decoding, which frames the sampling can never keep, so that
 * the decoder may skip them when no other frame references them (FFmpeg's {@code skip_frame =
 * AVDISCARD_NONREF}; DeepStream's decoders offer the same as {@code skip-frames}). Reference frames
 * are always decoded, so every frame that is decoded comes out exactly as it would otherwise, and
 * the sampled frames are the same ones, bit for bit.
 *
 * <p>A frame may be skipped only when it provably cannot be sampled and its absence changes no
 * other frame's sampling:
 *
 * <ul>
 *   <li>every N frames: its index is not a multiple of N;
 *   <li>at a target rate: a frame of the same sampling interval with an earlier presentation time
 *       was read before it (packets come in decoding order, so this is only known for some frames;
 *       the others are decoded). The earliest frame of each interval is never skipped, so the
 *       frame presented before any other frame still lies in the same interval as before.
 * </ul>
 *
 * Frames before the first keyframe of a pass (leading frames of an open GOP) and packets without a
 * presentation time are never skipped. Nor is anything when the decoder decodes several frames at
 * once on threads of its own (frame threading): FFmpeg then applies the setting to packets out of
 * step with the order they were sent in, and a test found a frame lost that way. Skipped frames in {@code [startMs, endMs)} are counted:
 * packets that were allowed to be skipped and whose frame did not come out before a later one.
 *
 * <p>Not thread-safe: one per decoding pass.
 */
final class UnsampledFrames {

    private final VideoFrameReader.Sampling sampling;
    private final double frameRate;
    private final long startMs;
    private final long endMs;
    /** Earliest presentation time read so far per sampling interval, recent intervals only. */
    private final Map<Long, Long> earliestByBin = new HashMap<>();
    /** Times of packets in the range that were allowed to be skipped and have not come out yet. */
    private final TreeSet<Long> pending = new TreeSet<>();

    private long keyMs = Long.MIN_VALUE;
    private long highestBin = Long.MIN_VALUE;
    private long skipped;

    UnsampledFrames(VideoFrameReader.Sampling sampling, double frameRate, long startMs, long endMs) {
        this.sampling = sampling;
        this.frameRate = frameRate;
        this.startMs = startMs;
        this.endMs = endMs;
    }

    /**
     * True when the frame of a packet read next may be skipped if nothing references it.
     *
     * @param ptsMs the packet's presentation time, -1 when it has none
     * @param key true for a keyframe packet
     */
    boolean mayDiscard(long ptsMs, boolean key) {
        if (ptsMs < 0) {
            return false;
        }
        if (keyMs == Long.MIN_VALUE) {
            if (!key) {
                return false;
            }
            keyMs = ptsMs;
        }
        if (ptsMs < keyMs) {
            return false; // a leading frame, dropped before the first keyframe anyway
        }
        boolean discard;
        if (sampling.targetFps() > 0) {
            long bin = (long) Math.floor(ptsMs * sampling.targetFps() / 1000.0 + 1e-9);
            Long earliest = earliestByBin.get(bin);
            discard = earliest != null && earliest < ptsMs;
            if (earliest == null || ptsMs < earliest) {
                earliestByBin.put(bin, ptsMs);
            }
            if (bin > highestBin) {
                highestBin = bin;
                if (earliestByBin.size() > 64) {
                    // Reordering spans a few frames; intervals far behind the newest get no packets.
                    earliestByBin.keySet().removeIf(b -> b < highestBin - 16);
                }
            }
        } else {
            discard = Math.round(ptsMs * frameRate / 1000.0) % sampling.everyNFrames() != 0;
        }
        if (discard && ptsMs >= startMs && ptsMs < endMs) {
            pending.add(ptsMs);
        }
        return discard;
    }

    /** A frame came out of the decoder: packets before it that did not come out were skipped. */
    void presented(long ptsMs) {
        while (!pending.isEmpty() && pending.first() <= ptsMs) {
            if (pending.pollFirst() < ptsMs) {
                skipped++;
            }
        }
    }

    /**
     * Frames of the range that were skipped, once the pass has ended: at the end of the stream or
     * at the first frame past the range, every earlier frame that was decoded has come out.
     */
    long skipped() {
        return skipped + pending.size();
    }
}
