package io.streamvision.video;

import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_BGR24;

import io.streamvision.imaging.RgbImage;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;

/**
 * Writes test-pattern videos of any length without a system FFmpeg (a moving bar over a grey ramp
 * that changes with time) and slideshows of given pictures, encoded with FFmpeg's own encoders (MPEG-4 Part 2, or VP8 for WebM) into
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
        write(file, container, width, height, fps, seconds, gopSeconds, 0);
    }

    /**
     * Writes {@code seconds} of video at {@code fps} to {@code file} with up to {@code bFrames}
     * B-frames in a row (MPEG-4 Part 2; frames nothing references, as most encoders write them).
     *
     * @param gopSeconds keyframe interval in seconds
     */
    public static void write(
            Path file,
            Container container,
            int width,
            int height,
            int fps,
            double seconds,
            double gopSeconds,
            int bFrames)
            throws Exception {
        try (FFmpegFrameRecorder recorder = recorder(file, container, width, height, fps, gopSeconds, 8, bFrames)) {
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

    /**
     * Writes a slideshow: each picture (RGB, {@code width} x {@code height}) shown for {@code
     * secondsEach}, as MPEG-4 Part 2 at a high quality in MP4, a keyframe at every picture.
     */
    public static void slideshow(Path file, List<RgbImage> pictures, int fps, double secondsEach) throws Exception {
        int width = pictures.get(0).width();
        int height = pictures.get(0).height();
        long each = Math.round(secondsEach * fps);
        try (FFmpegFrameRecorder recorder = recorder(file, Container.MP4, width, height, fps, secondsEach, 2, 0)) {
            Frame frame = new Frame(width, height, Frame.DEPTH_UBYTE, 3);
            ByteBuffer pixels = (ByteBuffer) frame.image[0];
            int stride = frame.imageStride;
            for (RgbImage picture : pictures) {
                if (picture.width() != width || picture.height() != height || picture.channels() != 3) {
                    throw new IllegalArgumentException("every picture must be RGB " + width + "x" + height);
                }
                byte[] px = picture.pixels();
                for (int y = 0; y < height; y++) {
                    for (int x = 0; x < width; x++) {
                        int in = (y * width + x) * 3;
                        int out = y * stride + x * 3;
                        pixels.put(out, px[in + 2]);
                        pixels.put(out + 1, px[in + 1]);
                        pixels.put(out + 2, px[in]);
                    }
                }
                for (long i = 0; i < each; i++) {
                    recorder.record(frame, AV_PIX_FMT_BGR24);
                }
            }
            recorder.stop();
        }
    }

    /** A started recorder; {@code quality} is MPEG-4's quantiser (2 best, 31 worst). */
    private static FFmpegFrameRecorder recorder(
            Path file, Container container, int width, int height, int fps, double gopSeconds, int quality, int bFrames)
            throws Exception {
        FFmpegFrameRecorder recorder = new FFmpegFrameRecorder(file.toFile(), width, height, 0);
        recorder.setFormat(container.format);
        recorder.setFrameRate(fps);
        recorder.setGopSize(Math.max(1, (int) Math.round(fps * gopSeconds)));
        if (container == Container.WEBM) {
            recorder.setVideoCodec(avcodec.AV_CODEC_ID_VP8);
            recorder.setVideoOption("deadline", "realtime");
            recorder.setVideoOption("cpu-used", "8");
        } else {
            recorder.setVideoCodec(avcodec.AV_CODEC_ID_MPEG4);
            recorder.setVideoQuality(quality);
            if (bFrames > 0) {
                recorder.setVideoOption("bf", Integer.toString(bFrames));
            }
        }
        if (container == Container.MP4_FASTSTART) {
            recorder.setOption("movflags", "+faststart");
        }
        recorder.start();
        return recorder;
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
