package io.streamvision.preprocess.streams;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import com.google.protobuf.InvalidProtocolBufferException;

import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelCatalog;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoLimits;

/**
 * Turns one {@code vision.videos.v1} record into frame tensors: the video is decoded with
 * FFmpeg, frames are sampled (every N frames or at a target rate), and each sampled frame
 * becomes one OIP {@code ModelInferRequest} per model, keyed by the video id, with the
 * parameters {@code video_id}, {@code frame_index} and {@code pts_ms}. When the video is done a
 * {@code VideoSampled} record goes to {@code vision.video-events.v1} saying how many frames were
 * sampled. A video that cannot be read yields exactly one dead letter (frames sampled before a
 * mid-stream failure stay, and the dead letter says how far it got) and a {@code VideoSampled}
 * marked failed, so the per-video summary can end with the reason. Outputs are handed to the
 * sink as they are made, so long videos do not pile up in memory. Thread-safe.
 */
public final class VideoPreparation {

    static final String STAGE_VIDEO = "preprocess/video";

    private final Topics topics;
    private final DeadLetters deadLetters;
    private final ModelCatalog catalog;
    private final VideoLimits limits;
    private final List<String> defaultModels;
    private final boolean preferUint8;

    public VideoPreparation(Topics topics, DeadLetters deadLetters, ModelCatalog catalog, VideoLimits limits,
                            List<String> defaultModels, boolean preferUint8) {
        this.topics = topics;
        this.deadLetters = deadLetters;
        this.catalog = catalog;
        this.limits = limits;
        this.defaultModels = defaultModels;
        this.preferUint8 = preferUint8;
    }

    /** Hands every output for one input record to the sink. */
    public void apply(byte[] value, ImagePreparation.Source source, Consumer<Routed> sink) {
        VideoRequest request;
        try {
            request = VideoRequest.parseFrom(value == null ? new byte[0] : value);
        } catch (InvalidProtocolBufferException e) {
            sink.accept(reject(source, value, ReasonCode.DESERIALIZATION_FAILED,
                    "record is not a vision.v1.VideoRequest: " + e.getMessage()));
            return;
        }
        String videoId = !request.getVideoId().isEmpty() ? request.getVideoId()
                : source.key() != null && source.key().length > 0 ? new String(source.key(), StandardCharsets.UTF_8)
                : source.topic() + "-" + source.partition() + "-" + source.offset();
        List<ModelConfig> models = new ArrayList<>();
        for (String name : request.getModelsCount() == 0 ? defaultModels : request.getModelsList()) {
            ModelConfig config = catalog.latest(name).orElse(null);
            if (config == null || config.imageInput() == null) {
                String message = "model '" + name + "' is not an image model in the repository (known: "
                        + catalog.all().keySet() + ")";
                sink.accept(reject(source, value, ReasonCode.UNKNOWN_MODEL, message));
                sink.accept(failed(videoId, List.of(), 0, ReasonCode.UNKNOWN_MODEL, message));
                return;
            }
            models.add(config);
        }
        long[] sampled = {0};
        try {
            VideoFrameReader.Summary summary = new VideoFrameReader(limits).read(request.getUri(),
                    request.getVideo().toByteArray(), Math.max(1, request.getEveryNFrames()), request.getTargetFps(),
                    frame -> {
                        for (ModelConfig model : models) {
                            TensorPreparer.PreparedTensor tensor = TensorPreparer.prepare(frame.image(),
                                    model.imageInput(), preferUint8);
                            ModelInferRequest.Builder infer = tensor.toInferRequest(
                                    videoId + "/" + frame.frameIndex(), model)
                                    .putParameters("video_id", InferParameter.newBuilder().setStringParam(videoId).build())
                                    .putParameters("frame_index", InferParameter.newBuilder()
                                            .setInt64Param(frame.frameIndex()).build())
                                    .putParameters("pts_ms", InferParameter.newBuilder()
                                            .setInt64Param(frame.ptsMillis()).build());
                            sink.accept(Routed.output(videoId, topics.tensors(model.name()), infer.build().toByteArray()));
                        }
                        sampled[0]++;
                    });
            VideoSampled done = VideoSampled.newBuilder().setVideoId(videoId).setFramesSampled(summary.framesSampled())
                    .setFramesDecoded(summary.framesDecoded()).setDurationMs(summary.durationMillis())
                    .setFrameRate(summary.frameRate()).setWidth(summary.width()).setHeight(summary.height())
                    .addAllModels(models.stream().map(ModelConfig::name).toList()).build();
            sink.accept(Routed.output(videoId, topics.videoEvents(), done.toByteArray()));
        } catch (ImageRejectedException e) {
            String message = sampled[0] == 0 ? e.getMessage()
                    : e.getMessage() + " (" + sampled[0] + " frames were sampled before the failure)";
            sink.accept(reject(source, value, e.reason(), message));
            sink.accept(failed(videoId, models, sampled[0], e.reason(), message));
        }
    }

    /** The end-of-video event of a video that failed after {@code sampled} frames. */
    private Routed failed(String videoId, List<ModelConfig> models, long sampled, ReasonCode reason, String message) {
        VideoSampled done = VideoSampled.newBuilder().setVideoId(videoId).setFramesSampled(sampled)
                .addAllModels(models.stream().map(ModelConfig::name).toList()).setFailed(true)
                .setFailureReason(reason).setFailureMessage(message).build();
        return Routed.output(videoId, topics.videoEvents(), done.toByteArray());
    }

    private Routed reject(ImagePreparation.Source source, byte[] value, ReasonCode reason, String message) {
        DeadLetter letter = deadLetters.describe(STAGE_VIDEO, reason, message, source.topic(), source.partition(),
                source.offset(), source.key(), source.headers(), value);
        return Routed.deadLetter(letter.getRequestId(), deadLetters.topic(), letter.toByteArray(), reason.name(),
                STAGE_VIDEO);
    }
}
