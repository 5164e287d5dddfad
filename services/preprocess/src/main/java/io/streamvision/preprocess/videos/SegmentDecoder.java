package io.streamvision.preprocess.videos;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.model.FrameParameters;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSegment;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoSources;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Decodes one {@code vision.video-segments.v1} work record: the frames of its time range are
 * sampled, and each sampled frame becomes one OIP {@code ModelInferRequest} per model on {@code
 * vision.tensors.<model>.v1}, keyed by the video id, with the parameters {@code video_id}, {@code
 * frame_index}, {@code pts_ms} and {@code segment}. A {@code VideoSampled} event for the segment
 * follows on {@code vision.video-events.v1}; all of it is committed in the segment's own
 * transaction. The last planned segment, when frames remain past its end, has the planner's next
 * one ({@link VideoPlanner#following}) written in the same transaction. A segment that fails yields one dead letter and a failed event (frames sampled
 * before the failure stay).
 *
 * <p>Runs on one transactional loop thread; not thread-safe.
 */
public final class SegmentDecoder implements AutoCloseable {

    private final VideoStage stage;
    private final InlineVideos inline;

    SegmentDecoder(VideoStage stage, InlineVideos inline) {
        this.stage = stage;
        this.inline = inline;
    }

    /** Decodes one segment into frame tensors and its event, or a dead letter. */
    void decode(ConsumerRecord<byte[], byte[]> record, List<ProducerRecord<byte[], byte[]>> out) {
        VideoSegment segment;
        try {
            segment = stage.topics().videoSegments().parse(record.value());
        } catch (InvalidProtocolBufferException e) {
            out.add(stage.deadLetters()
                    .unparsable(record, VideoPlanner.STAGE, stage.topics().videoSegments(), e));
            return;
        }
        String videoId = segment.getVideoId();
        long[] sampled = {0};
        try {
            // The planner checked the models; one may have left the repository since.
            List<ModelConfig> targets = new ArrayList<>();
            for (String name : segment.getModelsList()) {
                targets.add(stage.models().resolve(name));
            }
            String location;
            String protocols;
            if (segment.hasInlineSource()) {
                location = inline.file(segment.getInlineSource()).toString();
                protocols = "file";
            } else {
                VideoSources.Resolved source =
                        stage.sources().resolve(segment.getRequest().getUri());
                location = source.location();
                protocols = VideoSources.protocolWhitelist(source);
            }
            VideoFrameReader.Sampling sampling = new VideoFrameReader.Sampling(
                    segment.getRequest().getEveryNFrames(), segment.getRequest().getTargetFps());
            VideoFrameReader.Summary summary = stage.reader()
                    .read(location, protocols, sampling, segment.getStartMs(), segment.getEndMs(), frame -> {
                        for (ModelConfig model : targets) {
                            TensorPreparer.PreparedTensor tensor =
                                    stage.models().tensor(frame.image(), model);
                            ModelInferRequest.Builder infer = new FrameParameters(
                                            videoId, frame.frameIndex(), frame.ptsMillis(), segment.getIndex())
                                    .putInto(tensor.toInferRequest(videoId + "/" + frame.frameIndex(), model));
                            out.add(stage.forVideo(
                                    stage.topics().tensors(model.name()).name(),
                                    videoId,
                                    infer.build().toByteArray(),
                                    record));
                        }
                        sampled[0]++;
                    });
            boolean more = !summary.endOfStream();
            out.add(stage.eventRecord(
                    event(segment)
                            .setFramesSampled(summary.framesSampled())
                            .setFramesDecoded(summary.framesDecoded())
                            .setFramesSkipped(summary.framesSkipped())
                            .setDurationMs(Math.max(summary.durationMillis(), segment.getDurationMs()))
                            .setFinalSegment(segment.getLastPlanned() && !more)
                            .build(),
                    record));
            if (segment.getLastPlanned() && more) {
                out.add(stage.segmentRecord(VideoPlanner.following(segment), record));
            }
        } catch (ImageRejectedException e) {
            String message = "segment "
                    + segment.getIndex()
                    + " ["
                    + segment.getStartMs()
                    + ", "
                    + segment.getEndMs()
                    + ") ms: "
                    + e.getMessage()
                    + (sampled[0] == 0
                            ? ""
                            : " (" + sampled[0] + " frames of the segment were sampled before the failure)");
            out.add(stage.deadLetters().forRecord(record, VideoPlanner.STAGE, e.reason(), message));
            out.add(stage.eventRecord(
                    event(segment)
                            .setFramesSampled(sampled[0])
                            .setFailed(true)
                            .setFailureReason(e.reason())
                            .setFailureMessage(message)
                            .setFinalSegment(segment.getLastPlanned())
                            .build(),
                    record));
        }
    }

    private static VideoSampled.Builder event(VideoSegment segment) {
        return VideoSampled.newBuilder()
                .setVideoId(segment.getVideoId())
                .setSegmentIndex(segment.getIndex())
                .setSegmentStartMs(segment.getStartMs())
                .setSegmentEndMs(segment.getEndMs())
                .setFrameRate(segment.getFrameRate())
                .setDurationMs(segment.getDurationMs())
                .setWidth(segment.getWidth())
                .setHeight(segment.getHeight())
                .addAllModels(segment.getModelsList());
    }

    @Override
    public void close() {
        inline.close();
    }
}
