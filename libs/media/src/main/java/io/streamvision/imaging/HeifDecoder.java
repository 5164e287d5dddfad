package io.streamvision.imaging;

import io.streamvision.proto.vision.v1.ReasonCode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avformat.AVStreamGroup;
import org.bytedeco.ffmpeg.avformat.AVStreamGroupTileGrid;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
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
 * Decodes HEIF (HEIC: HEVC pictures, as iPhones save photographs) and AVIF (AV1 pictures) stills
 * with FFmpeg's ISO BMFF demuxer and decoders, which the video path already uses: the primary image,
 * either one coded picture or a grid of tiles put together as the file's tile grid says and cut to
 * the image size; converted to RGB with the colour matrix and range the picture declares (BT.601
 * when it declares none, as HEIF readers do); turned and mirrored as its transformation properties
 * ({@code irot}, {@code imir}: {@link HeifTransforms}) say. An alpha plane, stored
 * as an auxiliary image, is not read: the colour image is what PIL's plugins give too when they
 * convert to RGB. Stateless; each call is independent.
 */
final class HeifDecoder {

    private HeifDecoder() {}

    /** The primary image of a HEIF or AVIF file. */
    static RgbImage decode(byte[] data, ImageFormat format, ImageLimits limits) throws ImageRejectedException {
        List<Integer> transforms = HeifTransforms.of(data);
        Path file;
        try {
            file = Files.createTempFile("image-", "." + format.name().toLowerCase(java.util.Locale.ROOT));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary file for the image", e);
        }
        try {
            Files.write(file, data);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // nothing more to do
            }
            throw new UncheckedIOException("cannot write the image to a temporary file", e);
        }
        AVFormatContext context = new AVFormatContext(null);
        try {
            int rc = avformat.avformat_open_input(context, file.toString(), null, (AVDictionary) null);
            if (rc < 0) {
                throw new ImageRejectedException(
                        ReasonCode.CORRUPT_IMAGE, format + " container cannot be read: " + error(rc));
            }
            try {
                avformat.avformat_find_stream_info(context, (PointerPointer<?>) null);
                return decode(context, format, limits, transforms);
            } finally {
                avformat.avformat_close_input(context);
            }
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // a leftover temporary file is harmless
            }
        }
    }

    private static RgbImage decode(
            AVFormatContext context, ImageFormat format, ImageLimits limits, List<Integer> transforms)
            throws ImageRejectedException {
        AVStreamGroupTileGrid grid = null;
        AVStreamGroup group = null;
        for (int g = 0; g < context.nb_stream_groups(); g++) {
            AVStreamGroup candidate = context.stream_groups(g);
            if (candidate.type() == avformat.AV_STREAM_GROUP_PARAMS_TILE_GRID) {
                group = candidate;
                grid = candidate.params_tile_grid();
                break;
            }
        }
        // Which stream's picture goes where: the tiles of a grid, else the best video stream at 0, 0.
        Map<Integer, int[]> places = new HashMap<>();
        int width;
        int height;
        if (grid != null) {
            width = grid.width();
            height = grid.height();
            for (int t = 0; t < grid.nb_tiles(); t++) {
                AVStream tile = group.streams(grid.offsets_idx(t));
                places.put(tile.index(), new int[] {grid.offsets_horizontal(t), grid.offsets_vertical(t)});
            }
        } else {
            int best = avformat.av_find_best_stream(context, avutil.AVMEDIA_TYPE_VIDEO, -1, -1, (AVCodec) null, 0);
            if (best < 0) {
                throw new ImageRejectedException(ReasonCode.CORRUPT_IMAGE, format + " file holds no image");
            }
            width = context.streams(best).codecpar().width();
            height = context.streams(best).codecpar().height();
            places.put(best, new int[] {0, 0});
        }
        if (width <= 0 || height <= 0) {
            throw new ImageRejectedException(ReasonCode.CORRUPT_IMAGE, format + " image has no size");
        }
        limits.checkDimensions("image is", width, height);
        byte[] canvas = new byte[width * height * 3];
        Map<Integer, AVCodecContext> decoders = new HashMap<>();
        Set<Integer> done = new HashSet<>();
        AVPacket packet = avcodec.av_packet_alloc();
        AVFrame frame = avutil.av_frame_alloc();
        int painted = 0;
        try {
            while (painted < places.size() && avformat.av_read_frame(context, packet) >= 0) {
                int index = packet.stream_index();
                int[] at = places.get(index);
                if (at == null || done.contains(index)) {
                    avcodec.av_packet_unref(packet);
                    continue;
                }
                AVCodecContext decoder = decoders.get(index);
                if (decoder == null) {
                    decoder = open(context.streams(index), format, limits);
                    decoders.put(index, decoder);
                }
                avcodec.avcodec_send_packet(decoder, packet);
                avcodec.av_packet_unref(packet);
                avcodec.avcodec_send_packet(decoder, null);
                if (avcodec.avcodec_receive_frame(decoder, frame) >= 0) {
                    paste(frame, canvas, width, height, at[0], at[1]);
                    avutil.av_frame_unref(frame);
                    painted++;
                    done.add(index);
                }
            }
        } finally {
            decoders.values().forEach(avcodec::avcodec_free_context);
            avutil.av_frame_free(frame);
            avcodec.av_packet_free(packet);
        }
        if (painted < places.size()) {
            throw new ImageRejectedException(
                    painted == 0 ? ReasonCode.CORRUPT_IMAGE : ReasonCode.TRUNCATED,
                    format + " data cannot be decoded: " + painted + " of " + places.size() + " pictures decoded");
        }
        RgbImage image = new RgbImage(width, height, 3, canvas);
        for (int orientation : transforms) {
            image = ExifOrientation.apply(image, orientation);
        }
        return image;
    }

    private static AVCodecContext open(AVStream stream, ImageFormat format, ImageLimits limits)
            throws ImageRejectedException {
        AVCodec codec = avcodec.avcodec_find_decoder(stream.codecpar().codec_id());
        if (codec == null) {
            throw new ImageRejectedException(
                    ReasonCode.UNSUPPORTED_FORMAT,
                    format + " pictures coded as "
                            + avcodec.avcodec_get_name(stream.codecpar().codec_id())
                                    .getString()
                            + " have no decoder here");
        }
        AVCodecContext decoder = avcodec.avcodec_alloc_context3(codec);
        avcodec.avcodec_parameters_to_context(decoder, stream.codecpar());
        decoder.thread_count(1);
        // The coded size in the bitstream may differ from what the container declares: the decoder
        // refuses pictures over the pixel limit before it allocates them.
        decoder.max_pixels(limits.maxPixels());
        int rc = avcodec.avcodec_open2(decoder, codec, (AVDictionary) null);
        if (rc < 0) {
            avcodec.avcodec_free_context(decoder);
            throw new ImageRejectedException(ReasonCode.CORRUPT_IMAGE, format + " decoder cannot start: " + error(rc));
        }
        return decoder;
    }

    /** Converts one decoded picture to RGB and copies the part of it inside the canvas. */
    private static void paste(AVFrame frame, byte[] canvas, int width, int height, int left, int top)
            throws ImageRejectedException {
        int w = frame.width();
        int h = frame.height();
        if (left < 0 || top < 0 || w <= 0 || h <= 0 || (long) w * h > 4L * width * height + (1 << 20)) {
            throw new ImageRejectedException(
                    ReasonCode.CORRUPT_IMAGE,
                    "a " + w + "x" + h + " picture at " + left + "," + top + " does not belong in a " + width + "x"
                            + height + " image");
        }
        SwsContext sws = swscale.sws_getContext(
                w,
                h,
                frame.format(),
                w,
                h,
                avutil.AV_PIX_FMT_RGB24,
                swscale.SWS_BILINEAR | swscale.SWS_ACCURATE_RND | swscale.SWS_FULL_CHR_H_INT,
                null,
                null,
                (DoublePointer) null);
        if (sws == null) {
            throw new ImageRejectedException(
                    ReasonCode.UNSUPPORTED_FORMAT, "pictures in pixel format " + frame.format() + " cannot become RGB");
        }
        BytePointer rgb = new BytePointer((long) w * h * 3);
        PointerPointer<BytePointer> planes = new PointerPointer<>(4);
        IntPointer strides = new IntPointer(4);
        try {
            int space = frame.colorspace();
            int matrix = space == avutil.AVCOL_SPC_BT709
                    ? swscale.SWS_CS_ITU709
                    : space == avutil.AVCOL_SPC_BT2020_NCL || space == avutil.AVCOL_SPC_BT2020_CL
                            ? swscale.SWS_CS_BT2020
                            : swscale.SWS_CS_ITU601;
            int fullRange = frame.color_range() == avutil.AVCOL_RANGE_JPEG
                            || frame.format() == avutil.AV_PIX_FMT_YUVJ420P
                            || frame.format() == avutil.AV_PIX_FMT_YUVJ422P
                            || frame.format() == avutil.AV_PIX_FMT_YUVJ444P
                    ? 1
                    : 0;
            swscale.sws_setColorspaceDetails(
                    sws,
                    swscale.sws_getCoefficients(matrix),
                    fullRange,
                    swscale.sws_getCoefficients(swscale.SWS_CS_DEFAULT),
                    1,
                    0,
                    1 << 16,
                    1 << 16);
            planes.put(0, rgb);
            strides.put(0, w * 3);
            swscale.sws_scale(sws, frame.data(), frame.linesize(), 0, h, planes, strides);
            byte[] pixels = new byte[w * h * 3];
            rgb.position(0).get(pixels);
            int columns = Math.min(w, width - left);
            for (int y = 0; y < h && top + y < height; y++) {
                if (columns > 0 && top + y >= 0) {
                    System.arraycopy(pixels, y * w * 3, canvas, ((top + y) * width + left) * 3, columns * 3);
                }
            }
        } finally {
            swscale.sws_freeContext(sws);
            rgb.close();
            planes.close();
            strides.close();
        }
    }

    private static String error(int rc) {
        BytePointer text = new BytePointer(256);
        avutil.av_strerror(rc, text, 256);
        return text.getString();
    }
}
