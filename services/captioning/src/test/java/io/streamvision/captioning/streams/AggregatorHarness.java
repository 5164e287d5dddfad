package io.streamvision.captioning.streams;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Routed;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The video aggregator alone, on a mock processor context with the topology's RocksDB stores
 * (changelog and cache off), for inputs of tens of thousands of records: TopologyTestDriver flushes
 * every store after every record, which measures the disk rather than the aggregator. Not
 * thread-safe.
 */
final class AggregatorHarness implements AutoCloseable {

    private final Topics topics;
    private final Path stateDir;
    private final MockProcessorContext<String, Routed> context;
    private final KeyValueStore<String, byte[]> headers;
    private final KeyValueStore<String, byte[]> frames;
    private final VideoSummaryTopology.Aggregator aggregator;
    private long offset;

    AggregatorHarness(VideoSummaryTopology.Settings settings, Topics topics) {
        this.topics = topics;
        try {
            stateDir = Files.createTempDirectory("video-aggregator");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "video-aggregator-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        context = new MockProcessorContext<>(props, new TaskId(0, 0), stateDir.toFile());
        context.setCurrentSystemTimeMs(1_000_000);
        headers = VideoSummaryTopology.headerStore()
                .withLoggingDisabled()
                .withCachingDisabled()
                .build();
        frames = VideoSummaryTopology.framesStore().withLoggingDisabled().build();
        headers.init(context.getStateStoreContext(), headers);
        frames.init(context.getStateStoreContext(), frames);
        context.addStateStore(headers);
        context.addStateStore(frames);
        aggregator = new VideoSummaryTopology.Aggregator(
                settings, new DeadLetters(topics.deadLetters(), 1024), topics.videoSummaries());
        aggregator.init(context);
    }

    /** A frame score, keyed by its video id. */
    void score(Classification c) {
        process(topics.scores(), c.getVideoId(), c.toByteArray());
    }

    /** A segment event, keyed by its video id. */
    void event(VideoSampled e) {
        process(topics.videoEvents(), e.getVideoId(), e.toByteArray());
    }

    private void process(Topic<?> topic, String videoId, byte[] value) {
        context.setRecordMetadata(topic.name(), 0, offset++);
        aggregator.process(
                new Record<>(videoId.getBytes(StandardCharsets.UTF_8), new TopologyRecords.Part(topic, value), offset));
    }

    /** The stored header of a video, byte for byte, or null. */
    byte[] header(String videoId) {
        return headers.get(videoId);
    }

    /** The summaries forwarded since the last call, in order. */
    List<VideoSummary> summaries() {
        List<VideoSummary> out = new ArrayList<>();
        for (var forward : context.forwarded()) {
            Routed value = forward.record().value();
            if (!value.deadLetter()) {
                try {
                    out.add(topics.videoSummaries().parse(value.value()));
                } catch (InvalidProtocolBufferException e) {
                    throw new AssertionError("a summary that does not parse", e);
                }
            }
        }
        context.resetForwards();
        return out;
    }

    @Override
    public void close() throws IOException {
        headers.close();
        frames.close();
        try (Stream<Path> files = Files.walk(stateDir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
