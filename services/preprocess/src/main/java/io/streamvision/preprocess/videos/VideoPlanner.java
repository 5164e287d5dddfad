package io.streamvision.preprocess.videos;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.kafka.Stages;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.SourceRecord;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSegment;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoSources;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Plans videos: for each {@code vision.videos.v1} request it checks the models and the source
 * (allow-list, container, limits) without decoding, and writes one {@code VideoSegment} work record
 * per segment of {@code segmentMs} to {@code vision.video-segments.v1}. The work per request is
 * bounded (opening the container), whatever the video's length. A request that cannot be planned
 * yields one dead letter and one failed {@code VideoSampled} (segment 0, final) so the video's
 * summary ends with the reason.
 *
 * <p>Runs on one transactional loop thread; not thread-safe.
 */
public final class VideoPlanner {

    static final String STAGE = Stages.PREPROCESS_VIDEO;

    private final VideoStage stage;
    private final long segmentMs;
    private final Path workDir;

    public VideoPlanner(VideoStage stage, long segmentMs, Path workDir) {
        this.stage = stage;
        this.segmentMs = segmentMs;
        this.workDir = workDir;
    }

    /** Plans one request: its segments, or a dead letter. */
    void plan(ConsumerRecord<byte[], byte[]> record, List<ProducerRecord<byte[], byte[]>> out) {
        VideoRequest request;
        try {
            request = stage.topics().videos().parse(record.value());
        } catch (InvalidProtocolBufferException e) {
            out.add(stage.deadLetters().unparsable(record, STAGE, stage.topics().videos(), e));
            return;
        }
        String videoId = videoId(request, record);
        List<String> names = new ArrayList<>();
        try {
            for (String name : stage.models().requested(request.getModelsList())) {
                names.add(stage.models().resolve(name).name());
            }
            VideoFrameReader.Probe probe = probe(request);
            VideoFrameReader.Sampling sampling =
                    new VideoFrameReader.Sampling(request.getEveryNFrames(), request.getTargetFps());
            if (probe.durationKnown()) {
                long expected = sampling.expectedFrames(probe.durationMillis(), probe.frameRate());
                if (expected > stage.reader().limits().maxSampledFrames()) {
                    throw new ImageRejectedException(
                            ReasonCode.DIMENSIONS_EXCEEDED,
                            "about "
                                    + expected
                                    + " frames would be sampled from "
                                    + probe.durationMillis() / 1000
                                    + " s, over the limit of "
                                    + stage.reader().limits().maxSampledFrames()
                                    + "; sample less often");
                }
            }
            long segments =
                    probe.durationKnown() ? Math.max(1, (probe.durationMillis() + segmentMs - 1) / segmentMs) : 1;
            VideoRequest withoutBytes =
                    request.toBuilder().clearVideo().setVideoId(videoId).build();
            for (int i = 0; i < segments; i++) {
                VideoSegment.Builder segment = VideoSegment.newBuilder()
                        .setVideoId(videoId)
                        .setIndex(i)
                        .setStartMs(i * segmentMs)
                        .setEndMs((i + 1) * segmentMs)
                        // The last one plans the next when the video goes on past it (following).
                        .setLastPlanned(i == segments - 1)
                        .setRequest(withoutBytes)
                        .addAllModels(names)
                        .setFrameRate(probe.frameRate())
                        .setDurationMs(Math.max(0, probe.durationMillis()))
                        .setWidth(probe.width())
                        .setHeight(probe.height())
                        .setSegmentMs(segmentMs);
                if (!request.getVideo().isEmpty()) {
                    segment.setInlineSource(SourceRecord.newBuilder()
                            .setTopic(record.topic())
                            .setPartition(record.partition())
                            .setOffset(record.offset()));
                }
                out.add(stage.segmentRecord(segment.build(), record));
            }
        } catch (ImageRejectedException e) {
            out.add(stage.deadLetters().forRecord(record, STAGE, e.reason(), e.getMessage()));
            out.add(stage.eventRecord(
                    VideoSampled.newBuilder()
                            .setVideoId(videoId)
                            .setSegmentIndex(0)
                            .setFinalSegment(true)
                            .addAllModels(names)
                            .setFailed(true)
                            .setFailureReason(e.reason())
                            .setFailureMessage(e.getMessage())
                            .build(),
                    record));
        }
    }

    private VideoFrameReader.Probe probe(VideoRequest request) throws ImageRejectedException {
        if (!request.getVideo().isEmpty()) {
            Path file = stage.reader().spill(request.getVideo().toByteArray(), workDir);
            try {
                return stage.reader().probe(file.toString(), "file");
            } finally {
                VideoFrameReader.deleteQuietly(file);
            }
        }
        if (request.getUri().isBlank()) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "video request has neither a URI nor inline bytes");
        }
        VideoSources.Resolved source = stage.sources().resolve(request.getUri());
        return stage.reader().probe(source.location(), VideoSources.protocolWhitelist(source));
    }

    /**
     * The segment after {@code last}, the last planned one, when the video goes on past its end (a
     * container that gave no duration, or a shorter one than it holds): same length, same request;
     * it is the last planned one in its turn.
     */
    static VideoSegment following(VideoSegment last) {
        return last.toBuilder()
                .setIndex(last.getIndex() + 1)
                .setStartMs(last.getEndMs())
                .setEndMs(last.getEndMs() + last.getSegmentMs())
                .build();
    }

    /** The video id: the request's, else the record key, else the record's coordinates. */
    static String videoId(VideoRequest request, ConsumerRecord<byte[], byte[]> record) {
        if (!request.getVideoId().isEmpty()) {
            return request.getVideoId();
        }
        if (record.key() != null && record.key().length > 0) {
            return new String(record.key(), StandardCharsets.UTF_8);
        }
        return record.topic() + "-" + record.partition() + "-" + record.offset();
    }
}
