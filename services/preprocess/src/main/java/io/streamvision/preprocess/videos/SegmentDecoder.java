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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
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
 * <p>Frames become tensors on a thread of their own while the loop's thread decodes the next ones
 * (decoding is serial: resizing the sampled frames of a one-hour video took 0.9 s of the 12 s its
 * segments held that one thread); at most {@value #BYTES_IN_FLIGHT} bytes of decoded frames wait for it. The
 * records keep the frames' order.
 *
 * <p>Runs on one transactional loop thread; not thread-safe.
 */
public final class SegmentDecoder implements AutoCloseable {

    /** Decoded frames, in bytes, that may wait to become tensors: the decoder waits beyond. */
    static final int BYTES_IN_FLIGHT = 48 << 20;

    private final VideoStage stage;
    private final InlineVideos inline;
    private final ExecutorService tensors = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "video-frame-tensors");
        thread.setDaemon(true);
        return thread;
    });

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
        List<Future<List<ProducerRecord<byte[], byte[]>>>> frames = new ArrayList<>();
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
            Semaphore room = new Semaphore(BYTES_IN_FLIGHT);
            AtomicReference<ImageRejectedException> refused = new AtomicReference<>();
            VideoFrameReader.Summary summary = null;
            ImageRejectedException decodeFailure = null;
            try {
                summary = stage.reader()
                        .read(location, protocols, sampling, segment.getStartMs(), segment.getEndMs(), frame -> {
                            if (refused.get() != null) {
                                throw refused.get(); // an earlier frame's tensor was refused: stop decoding
                            }
                            int bytes = Math.min(BYTES_IN_FLIGHT, frame.image().pixels().length);
                            room.acquireUninterruptibly(bytes);
                            frames.add(tensors.submit(() -> {
                                try {
                                    return tensorRecords(frame, targets, segment, record);
                                } catch (ImageRejectedException e) {
                                    refused.compareAndSet(null, e);
                                    throw e;
                                } finally {
                                    room.release(bytes);
                                }
                            }));
                        });
            } catch (ImageRejectedException e) {
                decodeFailure = e;
            }
            // Every frame decoded before a failure stays, as when frames were prepared in line; a
            // refused frame comes before whatever stopped the decoder, so its failure counts.
            collect(frames, out, sampled);
            if (decodeFailure != null) {
                throw decodeFailure;
            }
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

    /** One frame's tensor request for each model; on the tensors thread. */
    private List<ProducerRecord<byte[], byte[]>> tensorRecords(
            VideoFrameReader.SampledFrame frame,
            List<ModelConfig> targets,
            VideoSegment segment,
            ConsumerRecord<byte[], byte[]> record)
            throws ImageRejectedException {
        String videoId = segment.getVideoId();
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>(targets.size());
        for (ModelConfig model : targets) {
            TensorPreparer.PreparedTensor tensor = stage.models().tensor(frame.image(), model);
            ModelInferRequest.Builder infer = new FrameParameters(
                            videoId, frame.frameIndex(), frame.ptsMillis(), segment.getIndex())
                    .putInto(tensor.toInferRequest(videoId + "/" + frame.frameIndex(), model));
            out.add(stage.forVideo(
                    stage.topics().tensors(model.name()).name(),
                    videoId,
                    infer.build().toByteArray(),
                    record));
        }
        return out;
    }

    /**
     * Adds the frames' records in order, counting them in {@code sampled}, up to the first frame that
     * failed, whose failure is thrown once every frame is done.
     */
    private static void collect(
            List<Future<List<ProducerRecord<byte[], byte[]>>>> frames,
            List<ProducerRecord<byte[], byte[]>> out,
            long[] sampled)
            throws ImageRejectedException {
        ImageRejectedException failure = null;
        for (Future<List<ProducerRecord<byte[], byte[]>>> frame : frames) {
            List<ProducerRecord<byte[], byte[]>> records;
            try {
                records = frame.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while a segment's frames became tensors", e);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof ImageRejectedException rejected)) {
                    throw new IllegalStateException("a frame's tensor failed: " + e.getCause(), e.getCause());
                }
                if (failure == null) {
                    failure = rejected;
                }
                continue;
            }
            if (failure == null) {
                out.addAll(records);
                sampled[0]++;
            }
        }
        frames.clear();
        if (failure != null) {
            throw failure;
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
        tensors.shutdownNow();
        inline.close();
    }
}
