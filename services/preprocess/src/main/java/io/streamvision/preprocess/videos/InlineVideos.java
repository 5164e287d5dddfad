package io.streamvision.preprocess.videos;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.SourceRecord;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.video.VideoFrameReader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The inline bytes of a video request, for the segments that refer to it: the request record is
 * read back from {@code vision.videos.v1} (read_committed, by its coordinates, no consumer group)
 * and its bytes are written to a file in the service's work directory, so that FFmpeg can seek in
 * them. The last few files are kept, since consecutive segments of one video often come to the same
 * instance; older ones are deleted.
 *
 * <p>Used by one loop thread; not thread-safe.
 */
final class InlineVideos implements AutoCloseable {

    private static final Topic<VideoRequest> REQUESTS = new Topics("").videos();

    private static final int KEEP = 3;

    private final Properties client;
    private final VideoFrameReader reader;
    private final Path workDir;
    private final Duration timeout;
    private final LinkedHashMap<String, Path> files = new LinkedHashMap<>(8, 0.75f, true);
    private KafkaConsumer<byte[], byte[]> consumer;

    /** @param client the service's client settings: bootstrap servers and security */
    InlineVideos(Properties client, VideoFrameReader reader, Path workDir, Duration timeout) {
        this.client = client;
        this.reader = reader;
        this.workDir = workDir;
        this.timeout = timeout;
    }

    /** A local file with the request's inline bytes. */
    Path file(SourceRecord source) throws ImageRejectedException {
        String id = source.getTopic() + "/" + source.getPartition() + "/" + source.getOffset();
        Path file = files.get(id);
        if (file != null) {
            return file;
        }
        file = reader.spill(fetch(source).getVideo().toByteArray(), workDir);
        files.put(id, file);
        while (files.size() > KEEP) {
            var eldest = files.entrySet().iterator().next();
            VideoFrameReader.deleteQuietly(eldest.getValue());
            files.remove(eldest.getKey());
        }
        return file;
    }

    private VideoRequest fetch(SourceRecord source) throws ImageRejectedException {
        KafkaConsumer<byte[], byte[]> c = consumer();
        TopicPartition tp = new TopicPartition(source.getTopic(), source.getPartition());
        c.assign(List.of(tp));
        c.seek(tp, source.getOffset());
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : c.poll(Duration.ofMillis(500))) {
                if (record.offset() == source.getOffset()) {
                    try {
                        // Binary or JSON, as the planner read it.
                        return REQUESTS.parse(record.value());
                    } catch (InvalidProtocolBufferException e) {
                        throw new ImageRejectedException(
                                ReasonCode.DESERIALIZATION_FAILED,
                                "the video request at " + tp + "@" + source.getOffset() + " does not parse");
                    }
                }
                if (record.offset() > source.getOffset()) {
                    break;
                }
            }
        }
        throw new ImageRejectedException(
                ReasonCode.VIDEO_DECODE_FAILED,
                "the inline video at "
                        + tp
                        + "@"
                        + source.getOffset()
                        + " could not be read back within "
                        + timeout.toSeconds()
                        + " s (deleted by retention?)");
    }

    private KafkaConsumer<byte[], byte[]> consumer() {
        if (consumer == null) {
            Properties props = new Properties();
            props.putAll(client);
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
            props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024);
            props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024 * 1024);
            consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }
        return consumer;
    }

    @Override
    public void close() {
        files.values().forEach(VideoFrameReader::deleteQuietly);
        files.clear();
        if (consumer != null) {
            consumer.close(Duration.ofSeconds(2));
        }
    }
}
