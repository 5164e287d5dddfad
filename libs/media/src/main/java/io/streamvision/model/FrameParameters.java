package io.streamvision.model;

import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import java.util.Optional;

/**
 * The video contract of a tensor request, in one place: a frame's request carries its video's id,
 * its frame index, its presentation time and the segment it was decoded in as request parameters.
 * Preprocess writes them ({@link #putInto}); the scoring service reads them back ({@link #of}) to key
 * the frame's score by its video and fill the score's frame fields, and its rollouts route a video's
 * frames together by the video id. Immutable.
 */
public record FrameParameters(String videoId, long frameIndex, long ptsMs, long segment) {

    public static final String VIDEO_ID = "video_id";
    public static final String FRAME_INDEX = "frame_index";
    public static final String PTS_MS = "pts_ms";
    public static final String SEGMENT = "segment";

    /** Adds the four parameters to a request. */
    public ModelInferRequest.Builder putInto(ModelInferRequest.Builder request) {
        return request.putParameters(
                        VIDEO_ID,
                        InferParameter.newBuilder().setStringParam(videoId).build())
                .putParameters(
                        FRAME_INDEX,
                        InferParameter.newBuilder().setInt64Param(frameIndex).build())
                .putParameters(
                        PTS_MS, InferParameter.newBuilder().setInt64Param(ptsMs).build())
                .putParameters(
                        SEGMENT,
                        InferParameter.newBuilder().setInt64Param(segment).build());
    }

    /** A frame's parameters, or empty when the request is not a video frame's (no video id). */
    public static Optional<FrameParameters> of(ModelInferRequest request) {
        InferParameter video = request.getParametersMap().get(VIDEO_ID);
        if (video == null || video.getStringParam().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new FrameParameters(
                video.getStringParam(),
                number(request, FRAME_INDEX),
                number(request, PTS_MS),
                number(request, SEGMENT)));
    }

    private static long number(ModelInferRequest request, String name) {
        return request.getParametersOrDefault(name, InferParameter.getDefaultInstance())
                .getInt64Param();
    }
}
