package io.streamvision.preprocess.videos;

import io.quarkus.runtime.StartupEvent;
import io.streamvision.kafka.KafkaClients;
import io.streamvision.kafka.Topics;
import io.streamvision.kafka.TransactionalLoop;
import io.streamvision.model.ModelCatalog;
import io.streamvision.preprocess.ImageModels;
import io.streamvision.preprocess.PreprocessConfig;
import io.streamvision.tracing.RecordTracing;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoLimits;
import io.streamvision.video.VideoSources;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The video side of the preprocess service, apart from the image topology so that long videos never
 * hold up images: two transactional loops on their own threads.
 *
 * <ul>
 *   <li>the planner reads {@code vision.videos.v1} and writes segment work records to {@code
 *       vision.video-segments.v1} ({@link VideoPlanner});
 *   <li>the segment loop takes one segment per transaction and writes its frame tensors and its
 *       {@code vision.video-events.v1} event ({@link SegmentDecoder}). Its consumer group spreads
 *       the segments of one video over every instance.
 * </ul>
 *
 * Their readiness: {@link VideoReadiness}. Thread-safe.
 */
@ApplicationScoped
public class VideoLoops {

    @Inject
    PreprocessConfig config;

    @Inject
    KafkaClients kafka;

    @Inject
    ModelCatalog catalog;

    @Inject
    RecordTracing tracing;

    private TransactionalLoop planner;
    private TransactionalLoop segments;
    private SegmentDecoder decoder;

    void onStart(@Observes StartupEvent event) {
        PreprocessConfig.Video v = config.video();
        if (!v.enabled()) {
            return;
        }
        Topics topics = kafka.topics();
        ensureTopics(v, topics);
        VideoFrameReader reader = new VideoFrameReader(
                new VideoLimits(
                        v.maxDurationSeconds(), v.maxWidth(), v.maxHeight(), v.maxSampledFrames(), v.maxInlineBytes()),
                v.decoderThreads(),
                v.formats(),
                v.skipUnsampledFrames());
        VideoSources sources = new VideoSources(
                v.sources().fileRoots().stream().map(Path::of).toList(),
                v.sources().urlPrefixes().orElse(List.of()),
                v.sources().maxRedirects());
        Path workDir = Path.of(v.workDir());
        ImageModels models =
                new ImageModels(catalog, v.defaultModels(), config.images().preferUint8());
        VideoStage stage = new VideoStage(topics, kafka.deadLetters(), models, sources, reader);
        VideoPlanner plan = new VideoPlanner(stage, Math.max(1000, Math.round(v.segmentSeconds() * 1000)), workDir);
        decoder = new SegmentDecoder(
                stage, new InlineVideos(kafka.clientProperties(), reader, workDir, Duration.ofSeconds(30)));

        PreprocessConfig.Kafka k = v.kafka();
        Map<String, Object> segmentConsumer = kafka.consumer(k, "-segments");
        // One segment per poll: a poll is one transaction, and a slow segment must not get the
        // instance thrown out of the group while the next ones wait in the same poll.
        segmentConsumer.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 600_000);
        planner = loop(
                "video-planner",
                k.groupId(),
                "-planner",
                topics.videos().name(),
                k.maxPollRecords(),
                withLargeFetches(kafka.consumer(k, "-planner")),
                tracing.eachInSpan("plan video", plan::plan));
        segments = loop(
                "video-segments",
                k.groupId() + "-segments",
                "-segments",
                topics.videoSegments().name(),
                1,
                segmentConsumer,
                tracing.eachInSpan("decode video segment", decoder::decode));
        planner.start();
        segments.start();
    }

    /** Creates the topics the video loops read and write, when topic creation is on. */
    private void ensureTopics(PreprocessConfig.Video v, Topics topics) {
        kafka.ensureTopics(List.of(
                topics.videos().name(),
                topics.videoEvents().name(),
                topics.deadLetters().name()));
        kafka.ensureTopics(List.of(topics.videoSegments().name()), v.kafka().segmentPartitions());
        kafka.ensureTopics(v.defaultModels().stream()
                .map(model -> topics.tensors(model).name())
                .toList());
    }

    /** One of the two loops: its group, its transactional id's suffix, the topic it reads. */
    private TransactionalLoop loop(
            String name,
            String groupId,
            String idSuffix,
            String topic,
            int recordsPerPoll,
            Map<String, Object> consumer,
            TransactionalLoop.BatchHandler handler) {
        PreprocessConfig.Kafka k = config.video().kafka();
        Map<String, Object> producer = new HashMap<>(kafka.connection());
        producer.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, k.transactionTimeoutMs());
        return new TransactionalLoop(
                TransactionalLoop.Settings.builder(name, kafka.bootstrapServers())
                        .identity(groupId, k.transactionalIdOrUnique() + idSuffix)
                        .topics(Pattern.compile(Pattern.quote(topic)))
                        .polls(recordsPerPoll, Duration.ofMillis(k.pollTimeoutMs()))
                        .maxRequestBytes(k.maxRequestBytes())
                        .consumer(consumer)
                        .producer(producer)
                        .build(),
                handler,
                kafka.deadLetters());
    }

    private static Map<String, Object> withLargeFetches(Map<String, Object> consumer) {
        Map<String, Object> out = new HashMap<>(consumer);
        out.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024 * 1024);
        out.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024);
        return out;
    }

    /** The planner loop, when videos are enabled. */
    public Optional<TransactionalLoop> planner() {
        return Optional.ofNullable(planner);
    }

    /** The segment loop, when videos are enabled. */
    public Optional<TransactionalLoop> segments() {
        return Optional.ofNullable(segments);
    }

    @PreDestroy
    void stop() {
        if (planner != null) {
            planner.close();
        }
        if (segments != null) {
            segments.close();
        }
        if (decoder != null) {
            decoder.close();
        }
    }
}
