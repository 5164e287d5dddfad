package io.streamvision.captioning.streams;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.captioning.streams.TopologyRecords.Part;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Routed;
import io.streamvision.kafka.Stages;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.proto.vision.v1.FrameObjects;
import io.streamvision.proto.vision.v1.FrameScore;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.proto.vision.v1.VideoAggregate;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * Per-video label timelines: aggregates the frame scores and segment events of each video into
 * {@code vision.video-summaries.v1}.
 *
 * <pre>
 * vision.scores.v1 (frames, keyed by video id) ──┐
 *                                                ├─► aggregate-videos ─► vision.video-summaries.v1
 * vision.video-events.v1 (keyed by video id) ────┘   (stores:          └► vision.dlq.v1
 *                                                     video-summaries, video-frames)
 * </pre>
 *
 * Both topics are keyed by video id, so a video's frames and segment events meet in one task
 * without a repartition. Scores with an empty {@code video_id} are image scores and are left to the
 * results topology. The video id is the record key; a record whose key and {@code video_id}
 * disagree, a frame score without a model or with a negative frame index, and a video event that
 * does not parse or names an impossible segment become dead letters.
 *
 * <p>State per video: a small header in {@value #STORE} (video id -> {@code VideoAggregate}:
 * per-model frame counts, the segments seen as a bitset, sums over the segments, failure and emit
 * bookkeeping; its size does not depend on the number of frames), and one record per scored frame
 * in {@value #FRAMES_STORE} (keyed as {@link VideoFrameKeys} says -> {@code FrameScore}), so a frame costs one get and one put on each store. Each (model, frame) and each
 * segment counts once; frames and events may come in any order.
 *
 * <p>A video is fully sampled when the events of segments 0..k are there and segment k said it was
 * the final one. The final summary (COMPLETE; FAILED when a segment failed or nothing changed for
 * the stall timeout) goes out exactly once, when the video is fully sampled and every model scored
 * every sampled frame, built by one scan of the video's frames per model. Progress updates, every
 * {@code progressEveryFrames} newly scored frames, carry counts only. Summaries carry the {@code
 * x-request-id} and {@code traceparent} headers of the record that completed them (none when the
 * stall sweep ends a video). A finished video stays queryable for the retention period; then its
 * header and frames are deleted, at most {@value #PURGE_BATCH} frames per sweep so that no
 * punctuation grows with the size of a video.
 *
 * <p>Built once at start-up; the processor instances it creates are each used by one stream thread.
 */
public final class VideoSummaryTopology {

    /** The queryable header store: video id -> {@code VideoAggregate}. */
    public static final String STORE = "video-summaries";

    /** The scored frames: {@link VideoFrameKeys#frame} -> {@code FrameScore}. */
    public static final String FRAMES_STORE = "video-frames";

    /** Dead-letter stage of video events. */
    public static final String EVENTS_STAGE = Stages.CAPTIONING_VIDEO_EVENTS;

    /** Dead-letter stage of frame scores the aggregation cannot take. */
    public static final String FRAMES_STAGE = Stages.CAPTIONING_VIDEO_FRAMES;

    /**
     * Segment indices a video may use: bounds the header's bitset to 16 KiB, enough for 24 h of
     * video at 1 s segments (24 h at the default 30 s segments take 360 bytes).
     */
    static final int MAX_SEGMENT_INDEX = 1 << 17;

    /** Frame records of expired videos deleted per sweep. */
    static final int PURGE_BATCH = 10_000;

    /**
     * Settings of the aggregation; {@code maxSegments} is the most segments one timeline lists (at
     * least 1). {@code stallTimeout} ends a fully sampled video whose frame scores stopped coming;
     * {@code samplingStallTimeout} ends a video still waiting for segments, which can queue behind
     * other videos' segments for a long time without anything being wrong.
     */
    public record Settings(
            long progressEveryFrames,
            Duration stallTimeout,
            Duration retention,
            Duration punctuate,
            int maxSegments,
            Duration samplingStallTimeout,
            int objectGapFrames,
            int outOfDomainGapFrames) {

        /** Consecutive sampled frames a class may be missing from without its interval ending. */
        public static final int DEFAULT_OBJECT_GAP_FRAMES = 1;

        /** Consecutive out-of-domain frames that do not split a label's segment. */
        public static final int DEFAULT_OUT_OF_DOMAIN_GAP_FRAMES = 5;

        public Settings {
            if (maxSegments < 1) {
                throw new IllegalArgumentException("max-segments must be at least 1, not " + maxSegments);
            }
            if (objectGapFrames < 0 || outOfDomainGapFrames < 0) {
                throw new IllegalArgumentException(
                        "object-gap-frames and out-of-domain-gap-frames must be at least 0, not " + objectGapFrames
                                + " and " + outOfDomainGapFrames);
            }
        }

        /** How the timelines of the summaries are drawn. */
        public VideoTimelines.Shape shape() {
            return new VideoTimelines.Shape(maxSegments, objectGapFrames, outOfDomainGapFrames);
        }

        /** Settings with one stall timeout for both cases and the default object hysteresis. */
        public Settings(
                long progressEveryFrames,
                Duration stallTimeout,
                Duration retention,
                Duration punctuate,
                int maxSegments) {
            this(
                    progressEveryFrames,
                    stallTimeout,
                    retention,
                    punctuate,
                    maxSegments,
                    stallTimeout,
                    DEFAULT_OBJECT_GAP_FRAMES,
                    DEFAULT_OUT_OF_DOMAIN_GAP_FRAMES);
        }
    }

    private VideoSummaryTopology() {}

    /** Adds the topology; {@code scores} is the stream of {@code vision.scores.v1}. */
    public static void build(
            StreamsBuilder builder,
            KStream<byte[], byte[]> scores,
            Topics topics,
            DeadLetters deadLetters,
            Settings settings) {
        builder.addStateStore(headerStore());
        builder.addStateStore(framesStore());
        KStream<byte[], Part> frames = Part.of(scores, topics.scores(), "video-frame-parts");
        KStream<byte[], Part> events =
                Part.read(builder, topics.videoEvents(), "video-events-source", "video-event-parts");
        KStream<String, Routed> out = frames.merge(events, Named.as("video-parts"))
                .process(
                        () -> new Aggregator(settings, deadLetters, topics.videoSummaries()),
                        Named.as("aggregate-videos"),
                        STORE,
                        FRAMES_STORE);
        Routed.sink(out, Serdes.String(), "video-sink");
    }

    /**
     * The header store, cached: the header changes with every frame and its changelog needs only
     * the latest value per commit.
     */
    static StoreBuilder<KeyValueStore<String, byte[]>> headerStore() {
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.String(), Serdes.ByteArray())
                .withCachingEnabled();
    }

    /** The frames store: each key is written once, so a cache would only hold memory. */
    static StoreBuilder<KeyValueStore<String, byte[]>> framesStore() {
        return Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(FRAMES_STORE), Serdes.String(), Serdes.ByteArray());
    }

    /** A detector frame's objects, one entry per class with its count and best score. */
    static List<FrameObjects> objects(Classification c) {
        Map<Integer, FrameObjects.Builder> byClass = new TreeMap<>();
        for (Detection d : c.getDetectionsList()) {
            FrameObjects.Builder o = byClass.computeIfAbsent(
                    d.getIndex(),
                    k -> FrameObjects.newBuilder().setIndex(d.getIndex()).setLabel(d.getLabel()));
            o.setCount(o.getCount() + 1).setMaxScore(Math.max(o.getMaxScore(), d.getScore()));
        }
        return byClass.values().stream().map(FrameObjects.Builder::build).toList();
    }

    /** The frames of one video, read from a {@value #FRAMES_STORE} store (local or queried). */
    public static VideoTimelines.FrameSource frameSource(ReadOnlyKeyValueStore<String, byte[]> frames, String videoId) {
        return (model, sink) -> {
            String prefix = VideoFrameKeys.modelPrefix(videoId, model);
            try (KeyValueIterator<String, byte[]> it = frames.prefixScan(prefix, VideoFrameKeys.SERIALIZER)) {
                while (it.hasNext()) {
                    KeyValue<String, byte[]> entry = it.next();
                    if (!VideoFrameKeys.isFrameOfModel(entry.key, prefix)) {
                        continue; // a frame of another video whose id begins with this prefix
                    }
                    try {
                        sink.accept(FrameScore.parseFrom(entry.value));
                    } catch (InvalidProtocolBufferException e) {
                        throw new IllegalStateException("unreadable frame " + VideoFrameKeys.readable(entry.key), e);
                    }
                }
            }
        };
    }

    /** Keeps each video's header and frames and emits its progress and final summaries. */
    static final class Aggregator implements Processor<byte[], Part, String, Routed> {

        private final Settings settings;
        private final DeadLetters deadLetters;
        private final Topic<VideoSummary> summaries;
        private ProcessorContext<String, Routed> context;
        private KeyValueStore<String, byte[]> headers;
        private KeyValueStore<String, byte[]> frames;

        Aggregator(Settings settings, DeadLetters deadLetters, Topic<VideoSummary> summaries) {
            this.settings = settings;
            this.deadLetters = deadLetters;
            this.summaries = summaries;
        }

        @Override
        public void init(ProcessorContext<String, Routed> context) {
            this.context = context;
            this.headers = context.getStateStore(STORE);
            this.frames = context.getStateStore(FRAMES_STORE);
            context.schedule(settings.punctuate(), PunctuationType.WALL_CLOCK_TIME, this::sweep);
        }

        @Override
        public void process(Record<byte[], Part> record) {
            if (record.value().topic().prototype() instanceof VideoSampled) {
                onEvent(record);
            } else {
                onScore(record);
            }
        }

        private void onScore(Record<byte[], Part> record) {
            Classification c;
            try {
                c = (Classification) record.value().topic().parse(record.value().value());
            } catch (InvalidProtocolBufferException e) {
                return; // the results topology dead-letters unreadable scores
            }
            if (c.getVideoId().isEmpty()) {
                return; // an image score
            }
            String videoId = videoIdOf(record.key(), c.getVideoId());
            if (videoId == null) {
                deadLetter(
                        record,
                        FRAMES_STAGE,
                        ReasonCode.BAD_REQUEST,
                        "frame score keyed '"
                                + TopologyRecords.keyText(record.key())
                                + "' belongs to video '"
                                + c.getVideoId()
                                + "': frame scores are keyed by video id");
                return;
            }
            String model = c.getModelName();
            if (!VideoFrameKeys.validModel(model) || c.getFrameIndex() < 0) {
                deadLetter(
                        record,
                        FRAMES_STAGE,
                        ReasonCode.BAD_REQUEST,
                        "frame score of video '"
                                + videoId
                                + "' has model '"
                                + model.replace('\u0000', ' ')
                                + "' and frame index "
                                + c.getFrameIndex());
                return;
            }
            VideoAggregate.Builder agg = load(videoId);
            if (agg.getFinalEmitted()) {
                return; // a late or repeated frame of a finished video
            }
            String key = VideoFrameKeys.frame(videoId, model, c.getFrameIndex());
            if (frames.get(key) != null) {
                return; // this model scored this frame before
            }
            FrameScore.Builder f = FrameScore.newBuilder()
                    .setModelName(model)
                    .setFrameIndex(c.getFrameIndex())
                    .setPtsMs(c.getPtsMs());
            if (c.getDetector()) {
                f.setDetector(true).addAllObjects(objects(c));
            }
            f.setOutOfDomain(c.getOutOfDomain());
            if (c.getLabelsCount() > 0) {
                f.setIndex(c.getLabels(0).getIndex())
                        .setLabel(c.getLabels(0).getLabel())
                        .setProbability(c.getLabels(0).getProbability());
            } else {
                f.setIndex(-1).setLabel("");
            }
            frames.put(key, f.build().toByteArray());
            agg.putFramesScored(model, agg.getFramesScoredOrDefault(model, 0L) + 1);
            if (!c.getModelVersion().equals(agg.getModelVersionsOrDefault(model, null))) {
                agg.putModelVersions(model, c.getModelVersion());
            }
            long ts = record.timestamp();
            agg.setFirstScoreAtMs(agg.getFirstScoreAtMs() == 0 ? ts : Math.min(agg.getFirstScoreAtMs(), ts))
                    .setLastScoreAtMs(Math.max(agg.getLastScoreAtMs(), ts));
            changed(agg, record);
        }

        private void onEvent(Record<byte[], Part> record) {
            VideoSampled event;
            try {
                event = (VideoSampled) record.value().parse();
            } catch (InvalidProtocolBufferException e) {
                deadLetter(
                        record,
                        EVENTS_STAGE,
                        ReasonCode.DESERIALIZATION_FAILED,
                        DeadLetters.unparsable(record.value().topic(), e));
                return;
            }
            String videoId = videoIdOf(record.key(), event.getVideoId());
            int segment = event.getSegmentIndex();
            if (videoId == null || videoId.isEmpty()) {
                deadLetter(
                        record,
                        EVENTS_STAGE,
                        ReasonCode.BAD_REQUEST,
                        "video event keyed '" + TopologyRecords.keyText(record.key()) + "' names video '"
                                + event.getVideoId() + "'");
                return;
            }
            if (segment < 0 || segment >= MAX_SEGMENT_INDEX) {
                deadLetter(
                        record,
                        EVENTS_STAGE,
                        ReasonCode.BAD_REQUEST,
                        "video event of '"
                                + videoId
                                + "' names segment "
                                + segment
                                + "; segments are numbered 0 to "
                                + (MAX_SEGMENT_INDEX - 1));
                return;
            }
            VideoAggregate.Builder agg = load(videoId);
            if (agg.getFinalEmitted() || SegmentBits.segmentDone(agg.getSegmentsDone(), segment)) {
                return; // a late or repeated event
            }
            agg.setSegmentsDone(SegmentBits.withSegment(agg.getSegmentsDone(), segment))
                    .setSegmentsDoneCount(agg.getSegmentsDoneCount() + 1)
                    .setFramesSampled(agg.getFramesSampled() + event.getFramesSampled())
                    .setFramesDecoded(agg.getFramesDecoded() + event.getFramesDecoded())
                    .setFramesSkipped(agg.getFramesSkipped() + event.getFramesSkipped())
                    .setDurationMs(Math.max(agg.getDurationMs(), event.getDurationMs()));
            if (event.getFrameRate() > 0) {
                agg.setFrameRate(event.getFrameRate());
            }
            if (event.getWidth() > 0 && event.getHeight() > 0) {
                agg.setWidth(event.getWidth()).setHeight(event.getHeight());
            }
            for (String model : event.getModelsList()) {
                if (!agg.getModelsList().contains(model)) {
                    agg.addModels(model);
                }
            }
            if (event.getFinalSegment() && (!agg.hasFinalSegment() || segment < agg.getFinalSegment())) {
                agg.setFinalSegment(segment);
            }
            if (event.getFailed()) {
                if (agg.getFailedSegments() == 0) {
                    agg.setFailureReason(event.getFailureReason()).setFailureMessage(event.getFailureMessage());
                }
                agg.setFailedSegments(agg.getFailedSegments() + 1);
            }
            changed(agg, record);
        }

        /** Emits what the change calls for and stores the header. */
        private void changed(VideoAggregate.Builder agg, Record<byte[], Part> cause) {
            agg.setUpdatedAtMs(context.currentSystemTimeMs());
            Headers out = new org.apache.kafka.common.header.internals.RecordHeaders();
            RecordHeaders.propagate(cause.headers(), out);
            if (VideoTimelines.complete(agg)) {
                emitFinal(agg, cause.timestamp(), out);
            } else if (settings.progressEveryFrames() > 0
                    && VideoTimelines.scoredPairs(agg) - agg.getReportedFrames() >= settings.progressEveryFrames()) {
                agg.setReportedFrames(VideoTimelines.scoredPairs(agg));
                context.forward(new Record<>(
                        agg.getVideoId(), Routed.to(summaries, VideoTimelines.progress(agg)), cause.timestamp(), out));
            }
            headers.put(agg.getVideoId(), agg.build().toByteArray());
        }

        private VideoAggregate.Builder load(String videoId) {
            byte[] stored = headers.get(videoId);
            if (stored != null) {
                try {
                    return VideoAggregate.parseFrom(stored).toBuilder();
                } catch (InvalidProtocolBufferException e) {
                    // a corrupt entry is replaced by a fresh header
                }
            }
            return VideoAggregate.newBuilder().setVideoId(videoId);
        }

        private void emitFinal(VideoAggregate.Builder agg, long timestamp, Headers out) {
            agg.setFinalEmitted(true)
                    .setFinalAtMs(context.currentSystemTimeMs())
                    .setReportedFrames(VideoTimelines.scoredPairs(agg));
            VideoSummary summary = VideoTimelines.summarize(
                    agg, VideoTimelines.state(agg), frameSource(frames, agg.getVideoId()), settings.shape());
            context.forward(new Record<>(agg.getVideoId(), Routed.to(summaries, summary), timestamp, out));
        }

        private void deadLetter(Record<byte[], Part> record, String stage, ReasonCode reason, String message) {
            context.forward(TopologyRecords.deadLetter(context, deadLetters, record, stage, reason, message));
        }

        /**
         * Ends videos that stopped changing for the stall timeout and deletes finished ones after
         * the retention period. Reads only the headers; frames are read to build a final summary
         * and deleted in batches.
         */
        private Duration stallLimit(VideoAggregate agg) {
            return VideoTimelines.fullySampled(agg) ? settings.stallTimeout() : settings.samplingStallTimeout();
        }

        private void sweep(long now) {
            List<VideoAggregate> stalled = new ArrayList<>();
            List<String> expired = new ArrayList<>();
            try (KeyValueIterator<String, byte[]> it = headers.all()) {
                while (it.hasNext()) {
                    KeyValue<String, byte[]> entry = it.next();
                    VideoAggregate agg;
                    try {
                        agg = VideoAggregate.parseFrom(entry.value);
                    } catch (InvalidProtocolBufferException e) {
                        expired.add(entry.key);
                        continue;
                    }
                    if (agg.getFinalEmitted()) {
                        if (now - agg.getFinalAtMs() > settings.retention().toMillis()) {
                            expired.add(entry.key);
                        }
                    } else if (now - agg.getUpdatedAtMs() > stallLimit(agg).toMillis()) {
                        stalled.add(agg);
                    }
                }
            }
            for (VideoAggregate agg : stalled) {
                VideoAggregate.Builder b = agg.toBuilder()
                        .setStalledMessage(VideoTimelines.stalledMessage(
                                agg, stallLimit(agg).toMillis()));
                emitFinal(b, agg.getLastScoreAtMs(), new org.apache.kafka.common.header.internals.RecordHeaders());
                headers.put(agg.getVideoId(), b.build().toByteArray());
            }
            int budget = PURGE_BATCH;
            for (String videoId : expired) {
                if (budget == 0) {
                    break; // the next sweep goes on
                }
                Purged purged = purgeFrames(videoId, budget);
                if (purged.finished()) {
                    headers.delete(videoId);
                }
                budget -= purged.deleted();
            }
        }

        /** Deletes up to {@code limit} frames of a video. */
        private Purged purgeFrames(String videoId, int limit) {
            String prefix = VideoFrameKeys.videoPrefix(videoId);
            List<String> keys = new ArrayList<>();
            boolean more = false;
            try (KeyValueIterator<String, byte[]> it = frames.prefixScan(prefix, VideoFrameKeys.SERIALIZER)) {
                while (it.hasNext() && !more) {
                    String key = it.next().key;
                    if (VideoFrameKeys.isFrameOfVideo(key, prefix)) {
                        more = keys.size() == limit;
                        if (!more) {
                            keys.add(key);
                        }
                    }
                }
            }
            keys.forEach(frames::delete);
            return new Purged(keys.size(), !more);
        }
    }

    /** Frames deleted in one sweep, and whether they were the video's last. */
    private record Purged(int deleted, boolean finished) {}

    /**
     * The video id of a record: its key; the value's video id when the key is absent; null when
     * they disagree.
     */
    private static String videoIdOf(byte[] key, String fromValue) {
        if (key == null || key.length == 0) {
            return fromValue;
        }
        String id = new String(key, StandardCharsets.UTF_8);
        return fromValue.isEmpty() || fromValue.equals(id) ? id : null;
    }
}
