package io.streamvision.captioning.streams;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.streamvision.captioning.streams.TopologyRecords.Part;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Routed;
import io.streamvision.kafka.Stages;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The results topology: joins scores and captions by request id into one {@code
 * vision.v1.ImageResult} per image.
 *
 * <pre>
 * vision.scores.v1 ──┐
 *                    ├─► join-parts (store: pending-results) ─► vision.results.v1
 * vision.captions.v1 ┘            └─► vision.dlq.v1 (records that do not parse)
 * </pre>
 *
 * A result is emitted as soon as every part its request asked for is there: the parts name the
 * models the request went to ({@code request_models}), of which the caption encoders' part is the
 * caption and every other model's its labels or objects; parts that name none (records from other
 * producers) expect the caption and the labels of every configured classifier. When the window
 * closes first (wall-clock punctuation), the partial result is emitted with
 * the reason instead of being dropped. Parts arriving after their result was emitted are ignored
 * for one more window. Both topics are keyed by request id, so parts of one image share a
 * partition. Scores of video frames are left to {@code VideoSummaryTopology}.
 *
 * <p>A pending result costs three changelog records of {@value #STORE}: its first part's put (the
 * result so far and that part's request id and trace headers in one value, {@link PendingResults}),
 * the marker that replaces it when it is emitted, and the marker's deletion one window later.
 */
public final class ResultsTopology {

    static final String STORE = "pending-results";

    /**
     * Request id and trace headers of each pending result's first part, so every result carries
     * them, where pending results are written in {@link PendingResults.Format#V1}; V2 keeps them in
     * {@value #STORE}'s values, and this store is only read (and emptied) for results pending from
     * a V1 release.
     */
    static final String HEADERS_STORE = "pending-results-headers";

    private ResultsTopology() {}

    /**
     * Adds the topology to a builder, with its own source of {@code vision.scores.v1}, writing
     * pending results in {@code format}.
     */
    static void build(
            StreamsBuilder builder,
            Topics topics,
            DeadLetters deadLetters,
            Expected expected,
            Duration window,
            Duration punctuate,
            PendingResults.Format format) {
        build(builder, scoresSource(builder, topics), topics, deadLetters, expected, window, punctuate, format);
    }

    /**
     * What makes a result whole.
     *
     * @param classifiers models whose labels a result needs besides the caption when its parts do
     *     not name the request's models
     * @param captionEncoders models whose part is the caption (their features are captioned)
     */
    public record Expected(Set<String> classifiers, Set<String> captionEncoders) {

        /** The parts a result needs: "caption" and model names. */
        List<String> parts(ImageResult.Builder result) {
            Set<String> named = new java.util.LinkedHashSet<>();
            result.getClassificationsList().forEach(c -> named.addAll(c.getRequestModelsList()));
            if (result.hasCaption()) {
                named.addAll(result.getCaption().getRequestModelsList());
            }
            List<String> parts = new ArrayList<>();
            if (named.isEmpty()) {
                parts.add(CAPTION);
                parts.addAll(classifiers);
                return parts;
            }
            if (named.stream().anyMatch(captionEncoders::contains)) {
                parts.add(CAPTION);
            }
            named.stream().filter(m -> !captionEncoders.contains(m)).forEach(parts::add);
            return parts;
        }
    }

    private static final String CAPTION = "\0caption";

    /** The {@code vision.scores.v1} source, for the topologies that share it. */
    public static KStream<byte[], byte[]> scoresSource(StreamsBuilder builder, Topics topics) {
        return builder.stream(
                topics.scores().name(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("scores-source"));
    }

    /**
     * Adds the topology to a builder, reading {@code scoresSource}; pending results are written in
     * {@code format} ({@code V1} only while a rolling upgrade from a V1 release runs) and read in
     * either.
     */
    public static void build(
            StreamsBuilder builder,
            KStream<byte[], byte[]> scoresSource,
            Topics topics,
            DeadLetters deadLetters,
            Expected expected,
            Duration window,
            Duration punctuate,
            PendingResults.Format format) {
        builder.addStateStore(Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(STORE), Serdes.String(), Serdes.ByteArray()));
        builder.addStateStore(Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(HEADERS_STORE), Serdes.String(), Serdes.ByteArray()));
        KStream<byte[], Part> scores = Part.of(scoresSource, topics.scores(), "score-parts");
        KStream<byte[], Part> captions = Part.read(builder, topics.captions(), "captions-source", "caption-parts");
        KStream<String, Routed> out = scores.merge(captions, Named.as("parts"))
                .process(
                        () -> new JoinProcessor(expected, window, punctuate, deadLetters, topics.results(), format),
                        Named.as("join-parts"),
                        STORE,
                        HEADERS_STORE);
        Routed.sink(out, Serdes.String(), "results-sink");
    }

    /** Collects the parts of each image in a store and emits each image's result once. */
    static final class JoinProcessor implements Processor<byte[], Part, String, Routed> {

        private final Expected expected;
        private final long windowMs;
        private final Duration punctuate;
        private final DeadLetters deadLetters;
        private final Topic<ImageResult> results;
        private final PendingResults.Format format;
        private ProcessorContext<String, Routed> context;
        private KeyValueStore<String, byte[]> store;
        private KeyValueStore<String, byte[]> headers;
        /**
         * When the store's entries come due (a pending result's window ends, a marker expires),
         * earliest first, so that a punctuation reads only those instead of the whole store: at
         * 500 images/s and a 30 s window it holds about 15,000 markers, and parsing every one each
         * second took 3 % of the service's CPU (async-profiler, bench/pipeline.sh). An entry rewritten since it was indexed
         * is checked against its current value. Rebuilt by a full sweep once per window, which
         * also indexes what the store held when this task started (restored from its changelog).
         */
        private final PriorityQueue<Due> due = new PriorityQueue<>(Comparator.comparingLong(Due::at));

        private long lastSweepMs = Long.MIN_VALUE;

        JoinProcessor(
                Expected expected,
                Duration window,
                Duration punctuate,
                DeadLetters deadLetters,
                Topic<ImageResult> results,
                PendingResults.Format format) {
            this.expected = expected;
            this.windowMs = window.toMillis();
            this.punctuate = punctuate;
            this.deadLetters = deadLetters;
            this.results = results;
            this.format = format;
        }

        @Override
        public void init(ProcessorContext<String, Routed> context) {
            this.context = context;
            this.store = context.getStateStore(STORE);
            this.headers = context.getStateStore(HEADERS_STORE);
            context.schedule(punctuate, PunctuationType.WALL_CLOCK_TIME, this::expire);
        }

        @Override
        public void process(Record<byte[], Part> record) {
            Part part = record.value();
            Pending pending;
            String requestId;
            try {
                Message parsed = part.parse();
                if (parsed instanceof Classification c) {
                    if (!c.getVideoId().isEmpty()) {
                        return; // a video frame: the video summaries aggregate those
                    }
                    requestId = c.getRequestId();
                    pending = pending(requestId, record.timestamp());
                    if (pending == null) {
                        return;
                    }
                    pending.result().addClassifications(c).putModelVersions(c.getModelName(), c.getModelVersion());
                } else {
                    Caption c = (Caption) parsed;
                    requestId = c.getRequestId();
                    pending = pending(requestId, record.timestamp());
                    if (pending == null) {
                        return;
                    }
                    pending.result().setCaption(c).putModelVersions(c.getDecoderModel(), c.getDecoderVersion());
                }
            } catch (InvalidProtocolBufferException e) {
                context.forward(TopologyRecords.deadLetter(
                        context,
                        deadLetters,
                        record,
                        Stages.CAPTIONING_RESULTS,
                        ReasonCode.DESERIALIZATION_FAILED,
                        DeadLetters.unparsable(part.topic(), e)));
                return;
            }
            if (pending.headers() == null) {
                pending = pending.withHeaders(RecordHeaders.encodePropagated(record.headers()));
            }
            ImageResult.Builder result = pending.result();
            result.setLastPartAtMs(Math.max(result.getLastPartAtMs(), record.timestamp()));
            if (isComplete(result)) {
                result.setComplete(true);
                emit(requestId, pending, record.timestamp());
            } else {
                save(requestId, pending);
            }
        }

        /**
         * A pending result, its first part's encoded headers (null until a part is there) and
         * whether those are kept in the headers store (written by a V1 release, or in V1).
         */
        private record Pending(ImageResult.Builder result, byte[] headers, boolean headersInStore) {

            Pending withHeaders(byte[] encoded) {
                return new Pending(result, encoded, headersInStore);
            }
        }

        /** The pending result of a request, a new one, or null when it was already emitted. */
        private Pending pending(String requestId, long timestamp) throws InvalidProtocolBufferException {
            byte[] stored = store.get(requestId);
            if (stored == null) {
                return new Pending(
                        ImageResult.newBuilder().setRequestId(requestId).setFirstPartAtMs(timestamp), null, false);
            }
            PendingResults.Stored read = PendingResults.read(stored);
            return read.result().getEmittedAtMs() > 0 ? null : pending(requestId, read);
        }

        /** A stored pending result with its headers, from its value or (V1) the headers store. */
        private Pending pending(String requestId, PendingResults.Stored read) {
            if (read.headers() != null) {
                return new Pending(read.result().toBuilder(), read.headers(), false);
            }
            byte[] kept = headers.get(requestId);
            return new Pending(read.result().toBuilder(), kept, kept != null);
        }

        /** Stores a result that still waits for parts, in the format this instance writes. */
        private void save(String requestId, Pending pending) {
            ImageResult result = pending.result().build();
            due.add(new Due(result.getFirstPartAtMs() + windowMs, requestId));
            if (format == PendingResults.Format.V2) {
                store.put(requestId, PendingResults.v2(result, pending.headers()));
                if (pending.headersInStore()) {
                    headers.delete(requestId); // a V1 entry moves into the value
                }
                return;
            }
            store.put(requestId, result.toByteArray());
            if (!pending.headersInStore()) {
                headers.put(requestId, pending.headers());
            }
        }

        private boolean isComplete(ImageResult.Builder result) {
            return missingParts(result).isEmpty();
        }

        private List<String> missingParts(ImageResult.Builder result) {
            List<String> seen = result.getClassificationsList().stream()
                    .map(Classification::getModelName)
                    .toList();
            List<String> missing = new ArrayList<>();
            for (String part : expected.parts(result)) {
                if (part.equals(CAPTION) ? !result.hasCaption() : !seen.contains(part)) {
                    missing.add(part);
                }
            }
            return missing;
        }

        private void emit(String requestId, Pending pending, long timestamp) {
            long now = context.currentSystemTimeMs(); // the wall clock, as Kafka Streams (and its test driver) keeps it
            ImageResult done = pending.result().setEmittedAtMs(now).build();
            Headers carried = RecordHeaders.decodePropagated(pending.headers());
            if (carried.lastHeader(RecordHeaders.REQUEST_ID) == null) {
                RecordHeaders.put(carried, RecordHeaders.REQUEST_ID, requestId);
            }
            if (pending.headersInStore()) {
                headers.delete(requestId);
            }
            context.forward(new Record<>(requestId, Routed.to(results, done), timestamp, carried));
            // Keep a marker for one more window so that late parts do not start a second result; a
            // V1 value in either format, which every release reads.
            due.add(new Due(now + windowMs + 1, requestId));
            store.put(
                    requestId,
                    ImageResult.newBuilder()
                            .setRequestId(requestId)
                            .setEmittedAtMs(now)
                            .setFirstPartAtMs(done.getFirstPartAtMs())
                            .build()
                            .toByteArray());
        }

        /** An entry of the store and when it comes due. */
        private record Due(long at, String key) {}

        private void expire(long now) {
            if (lastSweepMs == Long.MIN_VALUE || now - lastSweepMs >= windowMs) {
                lastSweepMs = now;
                due.clear();
                List<KeyValue<String, byte[]>> all = new ArrayList<>();
                try (KeyValueIterator<String, byte[]> entries = store.all()) {
                    while (entries.hasNext()) {
                        all.add(entries.next());
                    }
                }
                for (KeyValue<String, byte[]> entry : all) {
                    expire(entry.key, entry.value, now);
                }
                return;
            }
            while (!due.isEmpty() && due.peek().at() <= now) {
                String key = due.poll().key();
                byte[] value = store.get(key);
                if (value != null) {
                    expire(key, value, now);
                }
            }
        }

        /** Emits a result whose window ended, deletes an expired marker, or indexes the entry. */
        private void expire(String key, byte[] value, long now) {
            PendingResults.Stored read;
            try {
                read = PendingResults.read(value);
            } catch (InvalidProtocolBufferException e) {
                store.delete(key);
                return;
            }
            ImageResult result = read.result();
            if (result.getEmittedAtMs() > 0) {
                if (now - result.getEmittedAtMs() > windowMs) {
                    store.delete(key);
                } else {
                    due.add(new Due(result.getEmittedAtMs() + windowMs + 1, key));
                }
                return;
            }
            if (now - result.getFirstPartAtMs() >= windowMs) {
                Pending pending = pending(key, read);
                pending.result().setComplete(false).setMissingReason(missing(result));
                emit(key, pending, result.getLastPartAtMs());
            } else {
                due.add(new Due(result.getFirstPartAtMs() + windowMs, key));
            }
        }

        private String missing(ImageResult result) {
            List<String> parts = new ArrayList<>();
            for (String part : missingParts(result.toBuilder())) {
                parts.add(part.equals(CAPTION) ? "caption" : "labels of " + part);
            }
            return "no " + String.join(", no ", parts) + " within " + windowMs + " ms";
        }
    }
}
