package io.streamvision.video;

import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.imaging.RgbImage;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avformat;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.ffmpeg.global.swscale;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Decodes video with FFmpeg's own API (libavformat, libavcodec, libswscale through the JavaCPP
 * presets from Maven Central) and hands sampled frames to a callback.
 *
 * <p>Work is cut by presentation time: {@link #read} decodes the frames whose time lies in {@code
 * [startMs, endMs)}. It seeks to the keyframe before {@code startMs} (less a margin, so that the
 * frame before the range is decoded too) and decodes forward, so that whichever segment a frame
 * falls in, the same frames are sampled as by one pass over the whole video:
 *
 * <ul>
 *   <li>at a target rate, a frame is kept when it is the first one in its sampling interval ({@code
 *       floor(pts * fps)} differs from the previous frame's);
 *   <li>every N frames, a frame is kept when its index ({@code round(pts * frame rate)}, the
 *       stream's frame number for constant-rate video) is a multiple of N.
 * </ul>
 *
 * Only kept frames are converted, by swscale, straight to packed RGB; nothing else is copied. Frames
 * that the sampling cannot keep and no other frame references are not decoded at all ({@link
 * UnsampledFrames}), unless that is turned off.
 * Sources are local paths or URLs that {@link VideoSources} has checked; FFmpeg may open only the
 * protocols and container formats it is given, so a playlist cannot reach anything else. Inline
 * bytes are written to a temporary file first ({@link #spill}), so every container layout (an MP4
 * index at the end included) can seek.
 *
 * <p>Thread-safe: each call opens its own FFmpeg contexts.
 */
public final class VideoFrameReader {

    /** Container formats FFmpeg may open by default: the common video containers, no playlists. */
    public static final String DEFAULT_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi,flv,mpeg,"
            + "mpegvideo,h264,hevc,m4v,asf,ogg,gif,ivf,mjpeg,nut,mxf,dv,yuv4mpegpipe";

    /**
     * Decoded before the range starts, so the frame just before it is known (sampling at a rate).
     */
    private static final long PREROLL_MS = 1000;

    /** {@code FF_THREAD_FRAME}: the decoder decodes several frames at once. */
    private static final int THREAD_FRAME = 1;

    /** {@code AV_FRAME_FLAG_KEY}: the frame is a keyframe. */
    private static final int FRAME_FLAG_KEY = 1 << 1;

    static {
        avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    }

    /** One sampled frame. */
    public record SampledFrame(long frameIndex, long ptsMillis, RgbImage image) {}

    /** Receives sampled frames in order. */
    @FunctionalInterface
    public interface FrameSink {
        void accept(SampledFrame frame) throws ImageRejectedException;
    }

    /** What the container says about the video, before decoding. */
    public record Probe(long durationMillis, double frameRate, int width, int height, String format) {
        /** True when the container gives a duration. */
        public boolean durationKnown() {
            return durationMillis > 0;
        }
    }

    /** Which frames to keep: every N-th frame, or frames at about {@code targetFps}. */
    public record Sampling(int everyNFrames, double targetFps) {
        public Sampling {
            everyNFrames = Math.max(1, everyNFrames);
        }

        /** Frames this sampling keeps from {@code durationMillis} of video at {@code frameRate}. */
        public long expectedFrames(long durationMillis, double frameRate) {
            double seconds = durationMillis / 1000.0;
            return (long) Math.ceil(
                    targetFps > 0
                            ? seconds * Math.min(targetFps, frameRate > 0 ? frameRate : targetFps)
                            : seconds * (frameRate > 0 ? frameRate : 25) / everyNFrames);
        }
    }

    /** What was decoded in one range. */
    public record Summary(
            long framesDecoded,
            long framesSampled,
            long durationMillis,
            double frameRate,
            int width,
            int height,
            boolean endOfStream,
            long framesSkipped) {

        /** Frames of the video whose time lies in the range: decoded, or skipped as unneeded. */
        public long framesInRange() {
            return framesDecoded + framesSkipped;
        }
    }

    private final VideoLimits limits;
    private final int decoderThreads;
    private final String formats;
    private final boolean skipUnsampled;

    public VideoFrameReader(VideoLimits limits) {
        this(limits, 0, DEFAULT_FORMATS);
    }

    /**
     * @param decoderThreads FFmpeg decoder threads; 0 lets FFmpeg choose
     * @param formats container formats FFmpeg may open (its {@code format_whitelist})
     */
    public VideoFrameReader(VideoLimits limits, int decoderThreads, String formats) {
        this(limits, decoderThreads, formats, true);
    }

    /**
     * @param skipUnsampled let the decoder skip frames that nothing references and the sampling
     *     cannot keep ({@link UnsampledFrames}) unless it decodes on frame threads; the sampled
     *     frames are the same either way
     */
    public VideoFrameReader(VideoLimits limits, int decoderThreads, String formats, boolean skipUnsampled) {
        this.limits = limits;
        this.decoderThreads = decoderThreads;
        this.formats = formats;
        this.skipUnsampled = skipUnsampled;
    }

    /** The limits every source is checked against. */
    public VideoLimits limits() {
        return limits;
    }

    /** Opens the source and reads what the container says, without decoding frames. */
    public Probe probe(String location, String protocols) throws ImageRejectedException {
        try (Opened in = open(location, protocols)) {
            return in.probe();
        }
    }

    /**
     * Decodes the frames whose presentation time lies in {@code [startMs, endMs)} and hands the
     * sampled ones to the sink.
     *
     * @param location a local path or a checked URL
     * @param protocols FFmpeg protocols the source may use ({@link VideoSources#protocolWhitelist})
     * @param endMs end of the range, exclusive; {@code Long.MAX_VALUE} for the end of the stream
     * @return counts for the range; {@code endOfStream} is true when no frame lies past the range
     */
    public Summary read(String location, String protocols, Sampling sampling, long startMs, long endMs, FrameSink sink)
            throws ImageRejectedException {
        try (Opened in = open(location, protocols)) {
            return in.decode(sampling, startMs, endMs, sink);
        }
    }

    /**
     * Decodes a whole video from a trusted path or URI, or from inline bytes. For tools and tests;
     * the preprocess service checks request URIs with {@link VideoSources} first.
     */
    public Summary read(String uri, byte[] inline, int everyNFrames, double targetFps, FrameSink sink)
            throws ImageRejectedException {
        Sampling sampling = new Sampling(everyNFrames, targetFps);
        if (inline != null && inline.length > 0) {
            Path file = spill(inline, null);
            try {
                return read(file.toString(), "file", sampling, 0, Long.MAX_VALUE, sink);
            } finally {
                deleteQuietly(file);
            }
        }
        if (uri == null || uri.isBlank()) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "video request has neither a URI nor inline bytes");
        }
        VideoSources.Resolved source = uri.startsWith("file:")
                ? new VideoSources.Resolved(Path.of(URI.create(uri)).toString(), false)
                : new VideoSources.Resolved(uri, true);
        return read(source.location(), VideoSources.protocolWhitelist(source), sampling, 0, Long.MAX_VALUE, sink);
    }

    /**
     * Writes inline video bytes to a temporary file (in {@code dir}, or the system's temporary
     * directory when null), after checking them against the inline size limit.
     */
    public Path spill(byte[] inline, Path dir) throws ImageRejectedException {
        if (inline.length > limits.maxInlineBytes()) {
            throw new ImageRejectedException(
                    ReasonCode.TOO_LARGE,
                    "inline video is "
                            + inline.length
                            + " bytes, over the limit of "
                            + limits.maxInlineBytes()
                            + "; pass a URI instead");
        }
        try {
            if (dir != null) {
                Files.createDirectories(dir);
            }
            Path file = dir == null
                    ? Files.createTempFile("inline-", ".video")
                    : Files.createTempFile(dir, "inline-", ".video");
            Files.write(file, inline);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the inline video to a temporary file", e);
        }
    }

    /** Deletes a file made by {@link #spill}, ignoring failures. */
    public static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a temporary file; the directory is the service's own work area
        }
    }

    private Opened open(String location, String protocols) throws ImageRejectedException {
        Opened in = new Opened();
        try {
            in.open(location, protocols);
            return in;
        } catch (ImageRejectedException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    private static String error(int code) {
        BytePointer buf = new BytePointer(256);
        avutil.av_strerror(code, buf, 256);
        String s = buf.getString();
        buf.close();
        return s;
    }

    /** The FFmpeg contexts of one opened source; closed once. */
    private final class Opened implements AutoCloseable {
        private AVFormatContext format;
        private AVCodecContext codec;
        private AVStream stream;
        private int streamIndex = -1;
        private double timeBase;
        private long startPts;

        void open(String location, String protocols) throws ImageRejectedException {
            format = new AVFormatContext(null);
            AVDictionary options = new AVDictionary(null);
            avutil.av_dict_set(options, "protocol_whitelist", protocols, 0);
            avutil.av_dict_set(options, "format_whitelist", formats, 0);
            avutil.av_dict_set(options, "rw_timeout", "15000000", 0);
            int rc = avformat.avformat_open_input(format, location, null, options);
            avutil.av_dict_free(options);
            if (rc < 0) {
                format = null;
                throw new ImageRejectedException(
                        ReasonCode.VIDEO_DECODE_FAILED, "video cannot be opened: " + error(rc));
            }
            rc = avformat.avformat_find_stream_info(format, (PointerPointer<?>) null);
            if (rc < 0) {
                throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "video cannot be read: " + error(rc));
            }
            streamIndex = avformat.av_find_best_stream(format, avutil.AVMEDIA_TYPE_VIDEO, -1, -1, (AVCodec) null, 0);
            if (streamIndex < 0) {
                throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "the container has no video stream");
            }
            stream = format.streams(streamIndex);
            AVRational tb = stream.time_base();
            timeBase = tb.den() == 0 ? 1e-6 : (double) tb.num() / tb.den();
            startPts = stream.start_time() == avutil.AV_NOPTS_VALUE ? 0 : stream.start_time();
            AVCodec decoder = avcodec.avcodec_find_decoder(stream.codecpar().codec_id());
            if (decoder == null) {
                throw new ImageRejectedException(
                        ReasonCode.VIDEO_DECODE_FAILED,
                        "no decoder for the video codec "
                                + avcodec.avcodec_get_name(stream.codecpar().codec_id())
                                        .getString());
            }
            codec = avcodec.avcodec_alloc_context3(decoder);
            avcodec.avcodec_parameters_to_context(codec, stream.codecpar());
            codec.thread_count(decoderThreads);
            rc = avcodec.avcodec_open2(codec, decoder, (AVDictionary) null);
            if (rc < 0) {
                throw new ImageRejectedException(
                        ReasonCode.VIDEO_DECODE_FAILED, "the video decoder cannot start: " + error(rc));
            }
            int width = codec.width();
            int height = codec.height();
            if (width <= 0 || height <= 0) {
                throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "the video stream has no frame size");
            }
            limits.frameLimits().checkDimensions("video frames are", width, height);
        }

        Probe probe() throws ImageRejectedException {
            long durationMs = format.duration() == avutil.AV_NOPTS_VALUE || format.duration() <= 0
                    ? (stream.duration() == avutil.AV_NOPTS_VALUE || stream.duration() <= 0
                            ? -1
                            : Math.round(stream.duration() * timeBase * 1000))
                    : format.duration() / 1000;
            if (durationMs > limits.maxDurationSeconds() * 1000) {
                throw new ImageRejectedException(
                        ReasonCode.DIMENSIONS_EXCEEDED,
                        "video is "
                                + durationMs / 1000
                                + " s long, over the limit of "
                                + (long) limits.maxDurationSeconds()
                                + " s");
            }
            return new Probe(
                    durationMs,
                    frameRate(),
                    codec.width(),
                    codec.height(),
                    format.iformat().name().getString());
        }

        double frameRate() {
            AVRational r = stream.avg_frame_rate();
            if (r.num() <= 0 || r.den() <= 0) {
                r = stream.r_frame_rate();
            }
            return r.num() > 0 && r.den() > 0 ? (double) r.num() / r.den() : 25;
        }

        Summary decode(Sampling sampling, long startMs, long endMs, FrameSink sink) throws ImageRejectedException {
            // First the keyframe at or before the range's start: decoding from there, the frames
            // just before the range tell what was sampled last. A keyframe exactly at the start
            // will do when the start is a sampling boundary (at a target rate, nothing before it
            // can fall in the start's bin), so a range planned on keyframes decodes nothing twice.
            if (startMs > 0) {
                seek(startMs);
                Summary summary = pass(sampling, startMs, endMs, sink, true, onBoundary(sampling, startMs));
                if (summary != null) {
                    return summary;
                }
            }
            // Else a keyframe further back (less a margin, so the frame just before the range is
            // known). Containers without an index (MPEG-TS) may land past it or on a frame that is
            // not a keyframe: then seek further back, and in the end decode from the start.
            long margin = PREROLL_MS;
            while (true) {
                long seekMs = startMs - margin;
                if (seekMs <= 0) {
                    seek(0);
                    return pass(sampling, startMs, endMs, sink, false, false);
                }
                seek(seekMs);
                Summary summary = pass(sampling, startMs, endMs, sink, true, false);
                if (summary != null) {
                    return summary;
                }
                margin *= 4;
            }
        }

        /** True when no frame before {@code ms} can share a sampling bin with one at {@code ms}. */
        private static boolean onBoundary(Sampling sampling, long ms) {
            if (sampling.targetFps() <= 0) {
                return false; // every n-th frame: the frame just before may round to the same index
            }
            double bin = ms * sampling.targetFps() / 1000.0;
            return Math.abs(bin - Math.rint(bin)) < 1e-9;
        }

        /**
         * One decoding pass from the current position; null when {@code checkStart} and the first
         * keyframe decoded lies after {@code startMs}, or at it unless {@code startMayBeKey}
         * (nothing was handed to the sink then).
         */
        private Summary pass(
                Sampling sampling, long startMs, long endMs, FrameSink sink, boolean checkStart, boolean startMayBeKey)
                throws ImageRejectedException {
            double fps = frameRate();
            AVPacket packet = avcodec.av_packet_alloc();
            AVFrame frame = avutil.av_frame_alloc();
            Converter converter = new Converter();
            UnsampledFrames unsampled = skipUnsampled && (codec.active_thread_type() & THREAD_FRAME) == 0
                    ? new UnsampledFrames(sampling, fps, startMs, endMs)
                    : null;
            int discard = avcodec.AVDISCARD_DEFAULT;
            long decoded = 0;
            long sampled = 0;
            long previousBin = Long.MIN_VALUE;
            long lastKeptIndex = Long.MIN_VALUE;
            boolean started = false;
            boolean endOfStream = true;
            boolean flushing = false;
            try {
                outer:
                while (true) {
                    int rc;
                    if (!flushing) {
                        rc = avformat.av_read_frame(format, packet);
                        if (rc < 0) {
                            if (rc != avutil.AVERROR_EOF) {
                                throw new ImageRejectedException(
                                        ReasonCode.VIDEO_DECODE_FAILED,
                                        "reading the video failed after "
                                                + decoded
                                                + " frames of the range: "
                                                + error(rc));
                            }
                            flushing = true;
                            avcodec.avcodec_send_packet(codec, null);
                        } else {
                            if (packet.stream_index() != streamIndex) {
                                avcodec.av_packet_unref(packet);
                                continue;
                            }
                            if (unsampled != null) {
                                int wanted = unsampled.mayDiscard(
                                                packetMillis(packet), (packet.flags() & avcodec.AV_PKT_FLAG_KEY) != 0)
                                        ? avcodec.AVDISCARD_NONREF
                                        : avcodec.AVDISCARD_DEFAULT;
                                if (wanted != discard) {
                                    codec.skip_frame(wanted); // applies to this packet: one decoder thread (see above)
                                    discard = wanted;
                                }
                            }
                            avcodec.avcodec_send_packet(codec, packet); // a corrupt packet is skipped, as ffmpeg does
                            avcodec.av_packet_unref(packet);
                        }
                    }
                    while (true) {
                        rc = avcodec.avcodec_receive_frame(codec, frame);
                        if (rc == avutil.AVERROR_EAGAIN()) {
                            break;
                        }
                        if (rc < 0) {
                            break outer; // drained (end of stream) or a fatal decoder error
                        }
                        long pts = frame.best_effort_timestamp();
                        long ptsMs = pts == avutil.AV_NOPTS_VALUE ? 0 : Math.round((pts - startPts) * timeBase * 1000);
                        if (unsampled != null) {
                            unsampled.presented(ptsMs);
                        }
                        if (!started) {
                            boolean key = (frame.flags() & FRAME_FLAG_KEY) != 0 || frame.key_frame() != 0;
                            if (!key) {
                                avutil.av_frame_unref(frame);
                                continue; // frames before the first keyframe after a seek are not
                                // whole
                            }
                            if (checkStart && (ptsMs > startMs || (ptsMs == startMs && !startMayBeKey))) {
                                return null;
                            }
                            started = true;
                        }
                        if (ptsMs >= endMs) {
                            endOfStream = false;
                            avutil.av_frame_unref(frame);
                            break outer;
                        }
                        long bin = sampling.targetFps() > 0
                                ? (long) Math.floor(ptsMs * sampling.targetFps() / 1000.0 + 1e-9)
                                : Math.round(ptsMs * fps / 1000.0);
                        boolean keep = sampling.targetFps() > 0
                                ? bin != previousBin
                                : bin % sampling.everyNFrames() == 0 && bin > lastKeptIndex;
                        previousBin = bin;
                        if (ptsMs < startMs) {
                            if (keep) {
                                lastKeptIndex = bin;
                            }
                            avutil.av_frame_unref(frame);
                            continue;
                        }
                        decoded++;
                        if (ptsMs / 1000.0 > limits.maxDurationSeconds()) {
                            throw new ImageRejectedException(
                                    ReasonCode.DIMENSIONS_EXCEEDED,
                                    "video runs past the limit of " + (long) limits.maxDurationSeconds() + " s");
                        }
                        if (keep) {
                            long ordinal = sampling.targetFps() > 0 ? bin : bin / sampling.everyNFrames();
                            if (ordinal >= limits.maxSampledFrames()) {
                                throw new ImageRejectedException(
                                        ReasonCode.DIMENSIONS_EXCEEDED,
                                        "more than "
                                                + limits.maxSampledFrames()
                                                + " frames would be sampled; sample less often");
                            }
                            lastKeptIndex = bin;
                            long index = sampling.targetFps() > 0 ? Math.round(ptsMs * fps / 1000.0) : bin;
                            RgbImage image = converter.convert(frame);
                            sampled++;
                            sink.accept(new SampledFrame(index, ptsMs, image));
                        }
                        avutil.av_frame_unref(frame);
                    }
                }
            } finally {
                converter.close();
                avutil.av_frame_free(frame);
                avcodec.av_packet_free(packet);
            }
            if (startMs == 0 && decoded == 0 && endOfStream) {
                throw new ImageRejectedException(
                        ReasonCode.VIDEO_DECODE_FAILED, "the video stream has no decodable frames");
            }
            Probe p = probe();
            long skipped = unsampled == null ? 0 : unsampled.skipped();
            return new Summary(decoded, sampled, p.durationMillis(), fps, p.width(), p.height(), endOfStream, skipped);
        }

        /** A packet's presentation time in milliseconds as its frame's would be, or -1 without one. */
        private long packetMillis(AVPacket packet) {
            long pts = packet.pts();
            return pts == avutil.AV_NOPTS_VALUE ? -1 : Math.round((pts - startPts) * timeBase * 1000);
        }

        private void seek(long ms) {
            long ts = startPts + (long) (ms / 1000.0 / timeBase);
            if (avformat.av_seek_frame(format, streamIndex, ts, avformat.AVSEEK_FLAG_BACKWARD) < 0) {
                avformat.av_seek_frame(format, streamIndex, startPts, avformat.AVSEEK_FLAG_BACKWARD);
            }
            avcodec.avcodec_flush_buffers(codec);
        }

        /** Converts kept frames to packed RGB with swscale, reusing one context and buffer. */
        private final class Converter implements AutoCloseable {
            private SwsContext sws;
            private BytePointer rgb;
            private final PointerPointer<BytePointer> planes = new PointerPointer<>(4);
            private final IntPointer strides = new IntPointer(4);
            private int width;
            private int height;

            RgbImage convert(AVFrame frame) throws ImageRejectedException {
                int w = frame.width();
                int h = frame.height();
                limits.frameLimits().checkDimensions("video frames are", w, h);
                sws = swscale.sws_getCachedContext(
                        sws,
                        w,
                        h,
                        frame.format(),
                        w,
                        h,
                        avutil.AV_PIX_FMT_RGB24,
                        swscale.SWS_BILINEAR,
                        null,
                        null,
                        (DoublePointer) null);
                if (sws == null) {
                    throw new ImageRejectedException(
                            ReasonCode.VIDEO_DECODE_FAILED,
                            "frames in pixel format " + frame.format() + " cannot be converted to RGB");
                }
                if (rgb == null || w != width || h != height) {
                    if (rgb != null) {
                        rgb.close();
                    }
                    rgb = new BytePointer((long) w * h * 3);
                    width = w;
                    height = h;
                    planes.put(0, rgb);
                    strides.put(0, w * 3);
                }
                swscale.sws_scale(sws, frame.data(), frame.linesize(), 0, h, planes, strides);
                byte[] pixels = new byte[w * h * 3];
                rgb.position(0).get(pixels);
                return new RgbImage(w, h, 3, pixels);
            }

            @Override
            public void close() {
                if (sws != null) {
                    swscale.sws_freeContext(sws);
                }
                if (rgb != null) {
                    rgb.close();
                }
                planes.close();
                strides.close();
            }
        }

        @Override
        public void close() {
            if (codec != null) {
                avcodec.avcodec_free_context(codec);
                codec = null;
            }
            if (format != null) {
                avformat.avformat_close_input(format);
                format = null;
            }
        }
    }
}
