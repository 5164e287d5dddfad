package io.streamvision.video;

import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_BGR24;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;

/**
 * Writes test-pattern videos of any length without a system FFmpeg: a moving bar over a grey ramp
 * that changes with time, encoded with FFmpeg's own encoders (MPEG-4 Part 2, or VP8 for WebM) into
 * any container. Benchmarks and tests make their long videos with it at run time instead of
 * committing them. Not thread-safe per call; calls are independent.
 */
public final class SyntheticVideos {

    /** Container layouts a video can be written in. */
    public enum Container {
        /** MP4 as FFmpeg writes it by default: the index ({@code moov}) after the media data. */
        MP4("mp4", "mp4"),
        /** MP4 with the index first ({@code -movflags +faststart}). */
        MP4_FASTSTART("mp4", "mp4"),
        MKV("matroska", "mkv"),
        WEBM("webm", "webm"),
        MOV("mov", "mov"),
        MPEG_TS("mpegts", "ts");

        final String format;

        /** File name extension. */
        public final String extension;

        Container(String format, String extension) {
            this.format = format;
            this.extension = extension;
        }
    }

    private SyntheticVideos() {}

    /**
     * Writes one video: {@code file [seconds] [width] [height] [fps] [container]}, e.g. {@code
     * long.mp4 3600 320 240 25 MP4} (the defaults).
     */
    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3600;
        int width = args.length > 2 ? Integer.parseInt(args[2]) : 320;
        int height = args.length > 3 ? Integer.parseInt(args[3]) : 240;
        int fps = args.length > 4 ? Integer.parseInt(args[4]) : 25;
        Container container = args.length > 5 ? Container.valueOf(args[5]) : Container.MP4;
        write(file, container, width, height, fps, seconds, 2);
    }

    /**
     * Writes {@code seconds} of video at {@code fps} to {@code file}.
     *
     * @param gopSeconds keyframe interval in seconds
     */
    public static void write(
            Path file, Container container, int width, int height, int fps, double seconds, double gopSeconds)
            throws Exception {
        try (FFmpegFrameRecorder recorder = new FFmpegFrameRecorder(file.toFile(), width, height, 0)) {
            recorder.setFormat(container.format);
            recorder.setFrameRate(fps);
            recorder.setGopSize(Math.max(1, (int) Math.round(fps * gopSeconds)));
            if (container == Container.WEBM) {
                recorder.setVideoCodec(avcodec.AV_CODEC_ID_VP8);
                recorder.setVideoOption("deadline", "realtime");
                recorder.setVideoOption("cpu-used", "8");
            } else {
                recorder.setVideoCodec(avcodec.AV_CODEC_ID_MPEG4);
                recorder.setVideoQuality(8);
            }
            if (container == Container.MP4_FASTSTART) {
                recorder.setOption("movflags", "+faststart");
            }
            recorder.start();
            Frame frame = new Frame(width, height, Frame.DEPTH_UBYTE, 3);
            ByteBuffer pixels = (ByteBuffer) frame.image[0];
            int stride = frame.imageStride;
            long frames = Math.round(seconds * fps);
            for (long i = 0; i < frames; i++) {
                paint(pixels, stride, width, height, i, fps);
                recorder.record(frame, AV_PIX_FMT_BGR24);
            }
            recorder.stop();
        }
    }

    /** A grey level that changes every second, with a bar that moves one column per frame. */
    private static void paint(ByteBuffer pixels, int stride, int width, int height, long index, int fps) {
        int level = (int) ((index / fps) * 37 % 200) + 20;
        int bar = (int) (index % width);
        for (int y = 0; y < height; y++) {
            int row = y * stride;
            for (int x = 0; x < width; x++) {
                byte v = (byte) (Math.abs(x - bar) < Math.max(2, width / 16) ? 250 : level + (y * 30 / height));
                pixels.put(row + x * 3, v);
                pixels.put(row + x * 3 + 1, v);
                pixels.put(row + x * 3 + 2, v);
            }
        }
    }
}
