package io.streamvision.captioning.videos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

import com.google.protobuf.InvalidProtocolBufferException;

import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.FrameScore;
import io.streamvision.proto.vision.v1.VideoAggregate;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;

/**
 * Per-video label timelines: aggregates frame scores by video id into
 * {@code vision.video-summaries.v1}.
 *
 * <pre>
 * vision.scores.v1 (frames) ─► by-video ─┐
 *                                        ├─► video-parts (repartition) ─► aggregate-videos ─► vision.video-summaries.v1
 * vision.video-events.v1 ────────────────┘                               (store: video-summaries)
 * </pre>
 *
 * Frames may arrive in any order and interleaved with other videos; each (model, frame) counts
 * once. The final summary (COMPLETE, or FAILED when the preprocess service reported a failure
 * or frames stopped arriving for the stall timeout) is emitted exactly once, when the
 * end-of-video event and every sampled frame have arrived; progress updates go out every
 * {@code progressEveryFrames} frames before that. The store keeps each video for the
 * retention period after its final summary, for interactive queries.
 */
public final class VideoSummaryTopology {

    /** The queryable store: video id -> {@code VideoAggregate}. */
    public static final String STORE = "video-summaries";
    private static final byte FRAME = 'f';
    private static final byte END = 'e';

    /** Settings of the aggregation. */
    public record Settings(long progressEveryFrames, Duration stallTimeout, Duration retention, Duration punctuate) {
    }

    private VideoSummaryTopology() {
    }

    /** Adds the topology; {@code scores} is the stream of {@code vision.scores.v1}. */
    public static void build(StreamsBuilder builder, KStream<byte[], byte[]> scores, Topics topics, Settings settings) {
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.String(),
                Serdes.ByteArray()));
        KStream<String, byte[]> frames = scores.flatMap((key, value) -> {
            String videoId = videoIdOf(value);
            return videoId == null ? List.<KeyValue<String, byte[]>>of() : List.of(KeyValue.pair(videoId, tag(FRAME, value)));
        }, Named.as("frames-by-video"));
        KStream<String, byte[]> ends = builder.stream(topics.videoEvents(),
                        Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("video-events-source"))
                .flatMap((key, value) -> {
                    try {
                        VideoSampled event = VideoSampled.parseFrom(value);
                        return event.getVideoId().isEmpty() ? List.<KeyValue<String, byte[]>>of()
                                : List.of(KeyValue.pair(event.getVideoId(), tag(END, value)));
                    } catch (InvalidProtocolBufferException e) {
                        return List.<KeyValue<String, byte[]>>of();
                    }
                }, Named.as("ends-by-video"));
        frames.merge(ends, Named.as("video-parts-merged"))
                .repartition(Repartitioned.with(Serdes.String(), Serdes.ByteArray()).withName("video-parts"))
                .process(() -> new Aggregator(settings), Named.as("aggregate-videos"), STORE)
                .to(topics.videoSummaries(), Produced.with(Serdes.String(), Serdes.ByteArray())
                        .withName("video-summaries-sink"));
    }

    /** The video id of a frame score, or null for an image score or a record that does not parse. */
    static String videoIdOf(byte[] value) {
        try {
            String id = Classification.parseFrom(value).getVideoId();
            return id.isEmpty() ? null : id;
        } catch (InvalidProtocolBufferException e) {
            return null;   // the results topology dead-letters unreadable scores
        }
    }

    private static byte[] tag(byte kind, byte[] value) {
        byte[] tagged = new byte[value.length + 1];
        tagged[0] = kind;
        System.arraycopy(value, 0, tagged, 1, value.length);
        return tagged;
    }

    /** Keeps one aggregate per video and emits its progress and final summaries. */
    static final class Aggregator implements Processor<String, byte[], String, byte[]> {

        private final Settings settings;
        private ProcessorContext<String, byte[]> context;
        private KeyValueStore<String, byte[]> store;

        Aggregator(Settings settings) {
            this.settings = settings;
        }

        @Override
        public void init(ProcessorContext<String, byte[]> context) {
            this.context = context;
            this.store = context.getStateStore(STORE);
            context.schedule(settings.punctuate(), PunctuationType.WALL_CLOCK_TIME, this::sweep);
        }

        @Override
        public void process(Record<String, byte[]> record) {
            byte[] tagged = record.value();
            byte[] value = java.util.Arrays.copyOfRange(tagged, 1, tagged.length);
            VideoAggregate.Builder agg = load(record.key());
            if (agg.getFinalEmitted()) {
                return;   // late or repeated parts of a finished video
            }
            try {
                if (tagged[0] == FRAME) {
                    Classification c = Classification.parseFrom(value);
                    if (!addFrame(agg, c)) {
                        return;
                    }
                    long ts = record.timestamp();
                    agg.setFirstScoreAtMs(agg.getFirstScoreAtMs() == 0 ? ts : Math.min(agg.getFirstScoreAtMs(), ts))
                            .setLastScoreAtMs(Math.max(agg.getLastScoreAtMs(), ts));
                } else {
                    agg.setEnd(VideoSampled.parseFrom(value));
                }
            } catch (InvalidProtocolBufferException e) {
                return;   // filtered before the repartition; cannot happen for records written by this topology
            }
            agg.setUpdatedAtMs(context.currentSystemTimeMs());
            if (VideoTimelines.complete(agg.build())) {
                emitFinal(agg, record.timestamp());
            } else if (settings.progressEveryFrames() > 0
                    && agg.getFramesCount() - agg.getReportedFrames() >= settings.progressEveryFrames()) {
                agg.setReportedFrames(agg.getFramesCount());
                emit(agg.build(), VideoSummary.State.IN_PROGRESS, record.timestamp());
            }
            store.put(record.key(), agg.build().toByteArray());
        }

        private VideoAggregate.Builder load(String videoId) {
            byte[] stored = store.get(videoId);
            if (stored != null) {
                try {
                    return VideoAggregate.parseFrom(stored).toBuilder();
                } catch (InvalidProtocolBufferException e) {
                    // a corrupt entry is replaced by a fresh aggregate
                }
            }
            return VideoAggregate.newBuilder().setVideoId(videoId);
        }

        /** Adds the frame unless this (model, frame) is already there; returns whether it was added. */
        private static boolean addFrame(VideoAggregate.Builder agg, Classification c) {
            for (FrameScore f : agg.getFramesList()) {
                if (f.getFrameIndex() == c.getFrameIndex() && f.getModelName().equals(c.getModelName())) {
                    return false;
                }
            }
            FrameScore.Builder f = FrameScore.newBuilder().setModelName(c.getModelName())
                    .setFrameIndex(c.getFrameIndex()).setPtsMs(c.getPtsMs());
            if (c.getLabelsCount() > 0) {
                f.setIndex(c.getLabels(0).getIndex()).setLabel(c.getLabels(0).getLabel())
                        .setProbability(c.getLabels(0).getProbability());
            } else {
                f.setIndex(-1).setLabel("");
            }
            agg.addFrames(f).putModelVersions(c.getModelName(), c.getModelVersion());
            return true;
        }

        private void emitFinal(VideoAggregate.Builder agg, long timestamp) {
            agg.setFinalEmitted(true).setFinalAtMs(context.currentSystemTimeMs()).setReportedFrames(agg.getFramesCount());
            emit(agg.build(), VideoTimelines.state(agg.build()), timestamp);
        }

        private void emit(VideoAggregate agg, VideoSummary.State state, long timestamp) {
            context.forward(new Record<>(agg.getVideoId(), VideoTimelines.summarize(agg, state).toByteArray(), timestamp));
        }

        /** Ends stalled videos and forgets finished ones after the retention period. */
        private void sweep(long now) {
            List<KeyValue<String, byte[]>> all = new ArrayList<>();
            try (KeyValueIterator<String, byte[]> it = store.all()) {
                it.forEachRemaining(all::add);
            }
            for (KeyValue<String, byte[]> entry : all) {
                VideoAggregate agg;
                try {
                    agg = VideoAggregate.parseFrom(entry.value);
                } catch (InvalidProtocolBufferException e) {
                    store.delete(entry.key);
                    continue;
                }
                if (agg.getFinalEmitted()) {
                    if (now - agg.getFinalAtMs() > settings.retention().toMillis()) {
                        store.delete(entry.key);
                    }
                } else if (now - agg.getUpdatedAtMs() > settings.stallTimeout().toMillis()) {
                    VideoAggregate.Builder b = agg.toBuilder().setStalledMessage(stalledMessage(agg));
                    emitFinal(b, agg.getLastScoreAtMs());
                    store.put(entry.key, b.build().toByteArray());
                }
            }
        }

        private String stalledMessage(VideoAggregate agg) {
            long scored = VideoTimelines.framesScored(agg);
            return agg.hasEnd()
                    ? (agg.getEnd().getFramesSampled() - scored) + " of " + agg.getEnd().getFramesSampled()
                            + " sampled frames were not scored within " + settings.stallTimeout().toMillis() + " ms"
                    : "no end-of-video event within " + settings.stallTimeout().toMillis() + " ms of the last frame ("
                            + scored + " frames scored)";
        }
    }
}
