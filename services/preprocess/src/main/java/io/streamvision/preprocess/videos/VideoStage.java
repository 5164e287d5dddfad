package io.streamvision.preprocess.videos;

import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Topics;
import io.streamvision.preprocess.ImageModels;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSegment;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoSources;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * What the video planner and the segment decoder share: the topics they read and write, dead
 * letters, the image models frames are scored by, where a request's video may come from, the reader
 * that probes and decodes it, and how their output records are keyed and carry the input's
 * headers. Both stages of one service get the same instance.
 */
public record VideoStage(
        Topics topics, DeadLetters deadLetters, ImageModels models, VideoSources sources, VideoFrameReader reader) {

    /**
     * A segment work record, keyed {@code <video id>/<index>}: the video loops' {@link
     * SegmentPartitioner} spreads a video's segments evenly over the partitions.
     */
    ProducerRecord<byte[], byte[]> segmentRecord(VideoSegment segment, ConsumerRecord<byte[], byte[]> in) {
        return record(
                topics.videoSegments().name(),
                segment.getVideoId() + "/" + segment.getIndex(),
                segment.getVideoId(),
                segment.toByteArray(),
                in);
    }

    /** A video event, keyed by the video id like everything of the video downstream. */
    ProducerRecord<byte[], byte[]> eventRecord(VideoSampled event, ConsumerRecord<byte[], byte[]> in) {
        return forVideo(topics.videoEvents().name(), event.getVideoId(), event.toByteArray(), in);
    }

    /** A record of the video for {@code topic}, keyed by the video id. */
    ProducerRecord<byte[], byte[]> forVideo(
            String topic, String videoId, byte[] value, ConsumerRecord<byte[], byte[]> in) {
        return record(topic, videoId, videoId, value, in);
    }

    /**
     * The input's propagated headers (trace, request id) go along; without a request id the video id
     * stands in for it.
     */
    private static ProducerRecord<byte[], byte[]> record(
            String topic, String key, String videoId, byte[] value, ConsumerRecord<byte[], byte[]> in) {
        ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value);
        RecordHeaders.propagate(in.headers(), out.headers());
        if (out.headers().lastHeader(RecordHeaders.REQUEST_ID) == null) {
            RecordHeaders.put(out.headers(), RecordHeaders.REQUEST_ID, videoId);
        }
        return out;
    }
}
