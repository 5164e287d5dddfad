package io.streamvision.video.bench;

import java.nio.file.Path;
import java.util.Locale;

import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoLimits;

/**
 * Video decoding throughput with one decoder thread: every frame decoded and turned into
 * pixels (what the preprocess service does before resizing), repeated for a few seconds.
 * Arguments: video file, seconds.
 */
public final class VideoBenchmark {

    public static void main(String[] args) throws Exception {
        Path video = Path.of(args[0]);
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 10;
        VideoFrameReader reader = new VideoFrameReader(VideoLimits.DEFAULT, 1);
        reader.read(video.toUri().toString(), null, 1, 0, f -> { });
        long frames = 0;
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            frames += reader.read(video.toUri().toString(), null, 1, 0, f -> { }).framesDecoded();
        }
        double fps = frames / ((System.nanoTime() - start) / 1e9);
        System.out.printf(Locale.ROOT, "java (JavaCV FFmpeg, 1 thread, frames to pixels): %.0f frames/s%n", fps);
    }
}
