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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The video side of the preprocess service, apart from the image topology so that long videos never
 * hold up images: transactional loops on their own threads.
 *
 * <ul>
 *   <li>the planner reads {@code vision.videos.v1} and writes segment work records to {@code
 *       vision.video-segments.v1} ({@link VideoPlanner});
 *   <li>the segment loops (one per available processor by default) each take one segment per
 *       transaction and write its frame tensors and its {@code vision.video-events.v1} event
 *       ({@link SegmentDecoder}). They are members of one consumer group, which spreads the
 *       segments of one video over every loop of every instance.
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

    /** Segment loops an instance runs when {@code segment-loops} is 0: one per processor up to this. */
    static final int AUTO_SEGMENT_LOOPS_MAX = 4;

    private TransactionalLoop planner;
    // Written once at start; read by readiness checks on other threads.
    private final List<TransactionalLoop> segments = new CopyOnWriteArrayList<>();
    private final List<SegmentDecoder> decoders = new CopyOnWriteArrayList<>();

    void onStart(@Observes StartupEvent event) {
        PreprocessConfig.Video v = config.video();
        if (!v.enabled()) {
            return;
        }
        int count = segmentLoops(v.segmentLoops(), Runtime.getRuntime().availableProcessors());
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

        PreprocessConfig.Kafka k = v.kafka();
        planner = loop(
                "video-planner",
                k.groupId(),
                "-planner",
                topics.videos().name(),
                k.maxPollRecords(),
                withLargeFetches(kafka.consumer(k, "-planner")),
                tracing.eachInSpan("plan video", plan::plan));
        for (int i = 1; i <= count; i++) {
            // The first loop keeps the names of a single loop: a restarted instance fences its own
            // predecessor's transaction by the same transactional id.
            String suffix = i == 1 ? "-segments" : "-segments-" + i;
            SegmentDecoder decoder = new SegmentDecoder(
                    stage, new InlineVideos(kafka.clientProperties(), reader, workDir, Duration.ofSeconds(30)));
            decoders.add(decoder);
            Map<String, Object> segmentConsumer = kafka.consumer(k, suffix);
            // One segment per poll: a poll is one transaction, and a slow segment must not get the
            // loop thrown out of the group while the next ones wait in the same poll.
            segmentConsumer.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 600_000);
            segments.add(loop(
                    i == 1 ? "video-segments" : "video-segments-" + i,
                    k.groupId() + "-segments",
                    suffix,
                    topics.videoSegments().name(),
                    1,
                    segmentConsumer,
                    tracing.eachInSpan("decode video segment", decoder::decode)));
        }
        planner.start();
        segments.forEach(TransactionalLoop::start);
    }

    /** The segment loops to run: {@code configured}, or for 0 one per processor up to a bound. */
    static int segmentLoops(int configured, int processors) {
        if (configured < 0) {
            throw new IllegalArgumentException(
                    "vision.preprocess.video.segment-loops must be 0 (one per processor) or more, not " + configured);
        }
        return configured > 0 ? configured : Math.max(1, Math.min(processors, AUTO_SEGMENT_LOOPS_MAX));
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

    /** One of the loops: its group, its transactional id's suffix, the topic it reads. */
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
        // Both loops write segments (the planner, and a segment loop following a live video).
        producer.put(ProducerConfig.PARTITIONER_CLASS_CONFIG, SegmentPartitioner.class);
        producer.put(
                SegmentPartitioner.SEGMENTS_TOPIC,
                kafka.topics().videoSegments().name());
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

    /** The segment loops, none when videos are disabled. */
    public List<TransactionalLoop> segments() {
        return List.copyOf(segments);
    }

    @PreDestroy
    void stop() {
        if (planner != null) {
            planner.close();
        }
        segments.forEach(TransactionalLoop::close);
        decoders.forEach(SegmentDecoder::close);
    }
}
