package io.streamvision.video.bench;

import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoLimits;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Video decoding throughput with one decoder thread, as the preprocess service decodes, the sampled
 * frames converted to RGB pixels: first with every frame decoded, then with the frames that the
 * sampling cannot keep and nothing references skipped (the service's default). Arguments: video file, seconds to repeat for
 * (at least one pass), the sampling rate in frames per second (0: every frame), and optionally a
 * segment length in seconds: then one more pass decodes the video range by range, as the
 * preprocess service's segment loop does (each range from the keyframe it needs).
 */
public final class VideoBenchmark {

    public static void main(String[] args) throws Exception {
        Path video = Path.of(args[0]);
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 10;
        double fps = args.length > 2 ? Double.parseDouble(args[2]) : 0;
        VideoFrameReader.Sampling sampling = new VideoFrameReader.Sampling(1, fps);
        for (boolean skip : new boolean[] {false, true}) {
            VideoFrameReader reader = new VideoFrameReader(
                    new VideoLimits(86_400, 8192, 8192, 10_000_000, 8 * 1024 * 1024),
                    1,
                    VideoFrameReader.DEFAULT_FORMATS,
                    skip);
            String how = skip ? "unsampled frames nobody references skipped" : "every frame decoded";
            long decoded = 0;
            long skipped = 0;
            long sampled = 0;
            int passes = 0;
            long start = System.nanoTime();
            long end = start + (long) (seconds * 1e9);
            do {
                VideoFrameReader.Summary s =
                        reader.read(video.toString(), "file", sampling, 0, Long.MAX_VALUE, f -> {});
                decoded += s.framesDecoded();
                skipped += s.framesSkipped();
                sampled += s.framesSampled();
                passes++;
            } while (System.nanoTime() < end);
            double elapsed = (System.nanoTime() - start) / 1e9;
            System.out.printf(
                    Locale.ROOT,
                    "java (FFmpeg API, 1 thread, %s, %s to RGB): %.1f s per pass, %d frames decoded and %d"
                            + " skipped per pass, %d sampled%n",
                    how,
                    fps > 0 ? "sampled frames at " + fps + " fps" : "every frame",
                    elapsed / passes,
                    decoded / passes,
                    skipped / passes,
                    sampled / passes);
            if (args.length > 3) {
                long segmentMs = Math.round(Double.parseDouble(args[3]) * 1000);
                long segments = 0;
                long segmentDecoded = 0;
                long segmentSkipped = 0;
                long segmentSampled = 0;
                long t = System.nanoTime();
                for (long from = 0; ; from += segmentMs) {
                    VideoFrameReader.Summary s =
                            reader.read(video.toString(), "file", sampling, from, from + segmentMs, f -> {});
                    segments++;
                    segmentDecoded += s.framesDecoded();
                    segmentSkipped += s.framesSkipped();
                    segmentSampled += s.framesSampled();
                    if (s.endOfStream()) {
                        break;
                    }
                }
                System.out.printf(
                        Locale.ROOT,
                        "java, %s, in %d segments of %d s: %.1f s, %d frames decoded and %d skipped in the ranges,"
                                + " %d sampled%n",
                        how,
                        segments,
                        segmentMs / 1000,
                        (System.nanoTime() - t) / 1e9,
                        segmentDecoded,
                        segmentSkipped,
                        segmentSampled);
            }
        }
    }
}
