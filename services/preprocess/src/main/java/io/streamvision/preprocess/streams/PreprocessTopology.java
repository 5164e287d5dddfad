package io.streamvision.preprocess.streams;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Routed;
import io.streamvision.kafka.Topics;
import io.streamvision.tracing.RecordTracing;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The preprocess topology:
 *
 * <pre>
 * vision.images.v1 ─► prepare-tensors ─► route ─┬─► vision.tensors.&lt;model&gt;.v1 (ModelInferRequest)
 *                                                └─► vision.dlq.v1 (DeadLetter)
 * </pre>
 *
 * Videos are not part of it: they are planned and decoded segment by segment on loops of their own
 * ({@code io.streamvision.preprocess.videos}), so images never wait behind a video (see
 * docs/adr/0005).
 *
 * <p>Records are read as bytes and parsed inside the topology, so a record that is not an
 * ImageRequest becomes a dead letter in the same exactly-once transaction as everything else (see
 * docs/adr/0002). Outputs are keyed by request id and keep the input's headers, with {@code
 * x-request-id} set.
 */
public final class PreprocessTopology {

    static final String SOURCE = "images-source";
    static final String PREPARE = "prepare-tensors";

    private PreprocessTopology() {}

    /** Adds the topology to a builder, without tracing. */
    public static void build(StreamsBuilder builder, Topics topics, ImagePreparation preparation) {
        build(builder, topics, preparation, RecordTracing.OFF);
    }

    /**
     * Adds the topology to a builder; each image is one span ("preprocess image", with "decode" and
     * "resize" children), whose context its outputs carry.
     */
    public static void build(
            StreamsBuilder builder, Topics topics, ImagePreparation preparation, RecordTracing tracing) {
        Serde<byte[]> bytes = Serdes.ByteArray();
        KStream<byte[], Routed> routed = builder.stream(
                        topics.images().name(), Consumed.with(bytes, bytes).withName(SOURCE))
                .process(
                        () -> new PrepareProcessor(
                                (value, source, sink) ->
                                        preparation.apply(value, source).forEach(sink),
                                tracing),
                        Named.as(PREPARE));
        Routed.sink(routed, bytes, "outputs-sink");
    }

    /** One preparation step: all outputs of one input record, handed to a sink in order. */
    @FunctionalInterface
    interface Preparation {
        void apply(byte[] value, ImagePreparation.Source source, Consumer<Prepared> sink);
    }

    /** Parses, decodes and prepares one record; forwards one record per output. */
    static final class PrepareProcessor implements Processor<byte[], byte[], byte[], Routed> {

        private final Preparation preparation;
        private final RecordTracing tracing;
        private ProcessorContext<byte[], Routed> context;

        PrepareProcessor(Preparation preparation, RecordTracing tracing) {
            this.preparation = preparation;
            this.tracing = tracing;
        }

        @Override
        public void init(ProcessorContext<byte[], Routed> context) {
            this.context = context;
        }

        @Override
        public void process(Record<byte[], byte[]> record) {
            RecordMetadata meta = context.recordMetadata().orElseThrow();
            ImagePreparation.Source source = new ImagePreparation.Source(
                    meta.topic(), meta.partition(), meta.offset(), record.key(), record.headers());
            Span span = tracing.consume("preprocess image", record.headers());
            try (Scope scope = span.makeCurrent()) {
                preparation.apply(record.value(), source, output -> {
                    Record<byte[], Routed> out = record.withValue(output.routed())
                            .withHeaders(new org.apache.kafka.common.header.internals.RecordHeaders(
                                    record.headers().toArray()));
                    String requestId =
                            output.requestId() != null && !output.requestId().isEmpty()
                                    ? output.requestId()
                                    : meta.topic() + "-" + meta.partition() + "-" + meta.offset();
                    RecordHeaders.put(out.headers(), RecordHeaders.REQUEST_ID, requestId);
                    if (output.routed().deadLetter()) {
                        RecordHeaders.put(out.headers(), RecordHeaders.DLQ_REASON, output.reason());
                        RecordHeaders.put(out.headers(), RecordHeaders.DLQ_STAGE, output.stage());
                    } else {
                        out = out.withKey(requestId.getBytes(StandardCharsets.UTF_8));
                    }
                    tracing.inject(span, out.headers());
                    context.forward(out);
                });
            } finally {
                span.end();
            }
        }
    }
}
