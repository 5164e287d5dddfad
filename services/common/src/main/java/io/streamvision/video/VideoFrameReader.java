package io.streamvision.video;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.file.Path;

import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.Java2DFrameConverter;

import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.imaging.RgbImage;
import io.streamvision.proto.vision.v1.ReasonCode;

/**
 * Decodes video with FFmpeg (JavaCV, from Maven Central) and hands sampled frames to a
 * callback: every N-th frame, or frames at a target rate. Sources: {@code file:} and
 * {@code http(s):} URIs, or bytes carried in the request. Limits on duration, frame size and
 * sampled frames are checked from the container before decoding and again while decoding.
 *
 * <p>Not thread-safe; use one instance per video.
 */
public final class VideoFrameReader {

    static {
        avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    }

    /** One sampled frame. */
    public record SampledFrame(long frameIndex, long ptsMillis, RgbImage image) {
    }

    /** Receives sampled frames in order. */
    @FunctionalInterface
    public interface FrameSink {
        void accept(SampledFrame frame) throws ImageRejectedException;
    }

    /** What was decoded. */
    public record Summary(long framesDecoded, long framesSampled, long durationMillis, double frameRate, int width,
                          int height) {
    }

    private final VideoLimits limits;
    private final int decoderThreads;

    public VideoFrameReader(VideoLimits limits) {
        this(limits, 0);
    }

    /**
     * @param decoderThreads FFmpeg decoder threads; 0 lets FFmpeg choose
     */
    public VideoFrameReader(VideoLimits limits, int decoderThreads) {
        this.limits = limits;
        this.decoderThreads = decoderThreads;
    }

    /**
     * Decodes a video and samples frames.
     *
     * @param uri {@code file:} or {@code http(s):} URI, or null when {@code inline} is given
     * @param inline the video bytes, or null
     * @param everyNFrames keep every N-th frame (used when {@code targetFps} is 0)
     * @param targetFps keep frames at about this rate; 0 to use {@code everyNFrames}
     */
    public Summary read(String uri, byte[] inline, int everyNFrames, double targetFps, FrameSink sink)
            throws ImageRejectedException {
        FFmpegFrameGrabber grabber;
        if (inline != null && inline.length > 0) {
            if (inline.length > limits.maxInlineBytes()) {
                throw new ImageRejectedException(ReasonCode.TOO_LARGE, "inline video is " + inline.length
                        + " bytes, over the limit of " + limits.maxInlineBytes() + "; pass a URI instead");
            }
            grabber = new FFmpegFrameGrabber(new ByteArrayInputStream(inline), 0);
        } else if (uri != null && !uri.isBlank()) {
            grabber = new FFmpegFrameGrabber(source(uri));
        } else {
            throw new ImageRejectedException(ReasonCode.BAD_REQUEST, "video request has neither a URI nor inline bytes");
        }
        if (decoderThreads > 0) {
            grabber.setVideoOption("threads", Integer.toString(decoderThreads));
        }
        try (grabber; Java2DFrameConverter converter = new Java2DFrameConverter()) {
            try {
                grabber.start();
            } catch (Exception e) {
                throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "video cannot be opened: "
                        + e.getMessage(), e);
            }
            int width = grabber.getImageWidth();
            int height = grabber.getImageHeight();
            double fps = grabber.getFrameRate() > 0 ? grabber.getFrameRate() : 25;
            long durationMicros = grabber.getLengthInTime();
            if (width <= 0 || height <= 0) {
                throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "the container has no video stream");
            }
            if (width > limits.maxWidth() || height > limits.maxHeight()) {
                throw new ImageRejectedException(ReasonCode.DIMENSIONS_EXCEEDED, "video frames are " + width + "x"
                        + height + ", over the limit of " + limits.maxWidth() + "x" + limits.maxHeight());
            }
            if (durationMicros / 1e6 > limits.maxDurationSeconds()) {
                throw new ImageRejectedException(ReasonCode.DIMENSIONS_EXCEEDED, "video is " + durationMicros / 1_000_000
                        + " s long, over the limit of " + limits.maxDurationSeconds() + " s");
            }
            long decoded = 0;
            long sampled = 0;
            double nextSampleMillis = 0;
            long lastPts = 0;
            Frame frame;
            while (true) {
                try {
                    frame = grabber.grabImage();
                } catch (Exception e) {
                    throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "decoding failed after " + decoded
                            + " frames: " + e.getMessage(), e);
                }
                if (frame == null) {
                    break;
                }
                long index = decoded++;
                long ptsMillis = frame.timestamp / 1000;
                lastPts = ptsMillis;
                if (ptsMillis / 1000.0 > limits.maxDurationSeconds()) {
                    throw new ImageRejectedException(ReasonCode.DIMENSIONS_EXCEEDED, "video runs past the limit of "
                            + limits.maxDurationSeconds() + " s");
                }
                boolean keep = targetFps > 0 ? ptsMillis + 1e-6 >= nextSampleMillis : index % Math.max(1, everyNFrames) == 0;
                if (!keep) {
                    continue;
                }
                if (targetFps > 0) {
                    nextSampleMillis += 1000.0 / targetFps;
                    while (nextSampleMillis <= ptsMillis) {
                        nextSampleMillis += 1000.0 / targetFps;
                    }
                }
                if (++sampled > limits.maxSampledFrames()) {
                    throw new ImageRejectedException(ReasonCode.DIMENSIONS_EXCEEDED, "more than "
                            + limits.maxSampledFrames() + " frames would be sampled; sample less often");
                }
                BufferedImage image = converter.convert(frame);
                sink.accept(new SampledFrame(index, ptsMillis, ImageDecoder.pixels(image)));
            }
            if (decoded == 0) {
                throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "the video stream has no decodable frames");
            }
            return new Summary(decoded, sampled, Math.max(lastPts, durationMicros / 1000), fps, width, height);
        } catch (ImageRejectedException e) {
            throw e;
        } catch (Exception e) {
            throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "video cannot be decoded: " + e.getMessage(), e);
        }
    }

    private static String source(String uri) throws ImageRejectedException {
        URI parsed;
        try {
            parsed = URI.create(uri);
        } catch (IllegalArgumentException e) {
            throw new ImageRejectedException(ReasonCode.BAD_REQUEST, "video URI '" + uri + "' is not a URI");
        }
        String scheme = parsed.getScheme() == null ? "" : parsed.getScheme().toLowerCase(java.util.Locale.ROOT);
        return switch (scheme) {
            case "file" -> Path.of(parsed).toString();
            case "http", "https" -> uri;
            default -> throw new ImageRejectedException(ReasonCode.BAD_REQUEST, "video URI scheme '" + scheme
                    + "' is not supported; use file:, http: or https:");
        };
    }
}
