package io.streamvision.captioning.kafka;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.quarkus.runtime.StartupEvent;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.captioning.decode.Captioner;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.KafkaClients;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Stages;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.kafka.TransactionalLoop;
import io.streamvision.model.RequestModels;
import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.runtime.DomainScore;
import io.streamvision.runtime.Tensors;
import io.streamvision.tracing.RecordTracing;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The Kafka path of the captioning service: reads {@code vision.features.v1} (OIP {@code
 * ModelInferResponse} records holding an encoder's features), captions each poll's records in one
 * batched search, and writes {@code vision.v1.Caption} records to {@code vision.captions.v1}.
 * Records it cannot caption go to {@code vision.dlq.v1}. Consume, decode and produce happen in one
 * Kafka transaction per poll.
 */
@ApplicationScoped
public class CaptioningLoop {

    static final String STAGE = Stages.CAPTIONING_DECODE;

    @Inject
    CaptioningConfig config;

    @Inject
    KafkaClients kafka;

    @Inject
    Captioner captioner;

    @Inject
    RecordTracing tracing;

    private TransactionalLoop loop;
    private Topic<Caption> captions;

    void onStart(@Observes StartupEvent event) {
        if (!config.kafka().enabled()) {
            return;
        }
        Topics topics = kafka.topics();
        captions = topics.captions();
        kafka.ensureTopics(List.of(
                topics.features().name(),
                topics.captions().name(),
                topics.deadLetters().name(),
                topics.scores().name(),
                topics.results().name(),
                topics.videoEvents().name(),
                topics.videoSummaries().name()));
        loop = kafka.loop(
                "captioning",
                config.kafka(),
                Pattern.compile(Pattern.quote(topics.features().name())),
                this::handle);
        loop.start();
    }

    /** Loop state, for readiness; empty when the loop is disabled. */
    public Optional<TransactionalLoop> loop() {
        return Optional.ofNullable(loop);
    }

    void handle(List<ConsumerRecord<byte[], byte[]>> records, List<ProducerRecord<byte[], byte[]>> out)
            throws Exception {
        DeadLetters deadLetters = kafka.deadLetters();
        Topic<ModelInferResponse> featuresTopic = kafka.topics().features();
        List<ConsumerRecord<byte[], byte[]>> accepted = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        List<float[]> features = new ArrayList<>();
        List<Map<String, InferParameter>> parameters = new ArrayList<>();
        String encoder = captioner.encoderName();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            ModelInferResponse response;
            try {
                response = featuresTopic.parse(record.value());
            } catch (InvalidProtocolBufferException e) {
                out.add(deadLetters.unparsable(record, STAGE, featuresTopic, e));
                continue;
            }
            if (encoder == null || !encoder.equals(response.getModelName())) {
                out.add(deadLetters.forRecord(
                        record,
                        STAGE,
                        ReasonCode.UNKNOWN_MODEL,
                        "features come from model '"
                                + response.getModelName()
                                + "', but the caption decoder reads features of '"
                                + encoder
                                + "'"));
                continue;
            }
            if (response.getRawOutputContentsCount() != 1
                    || response.getOutputsCount() != 1
                    || !"FP32".equals(response.getOutputs(0).getDatatype())) {
                out.add(deadLetters.forRecord(
                        record,
                        STAGE,
                        ReasonCode.INVALID_TENSOR,
                        "expected exactly one FP32 features output with raw contents"));
                continue;
            }
            float[] vector;
            try {
                vector = Tensors.floats(response.getRawOutputContents(0));
            } catch (IllegalArgumentException e) {
                out.add(deadLetters.forRecord(record, STAGE, ReasonCode.INVALID_TENSOR, e.getMessage()));
                continue;
            }
            accepted.add(record);
            ids.add(
                    response.getId().isEmpty() && record.key() != null
                            ? new String(record.key(), StandardCharsets.UTF_8)
                            : response.getId());
            features.add(vector);
            parameters.add(response.getParametersMap());
        }
        if (accepted.isEmpty()) {
            return;
        }
        List<Span> spans = new ArrayList<>(accepted.size());
        SpanBuilder search = tracing.builder("decode search").setNoParent().setAttribute("batch.requests", ids.size());
        for (ConsumerRecord<byte[], byte[]> record : accepted) {
            Span span = tracing.consume("caption", record.headers());
            spans.add(span);
            if (span.getSpanContext().isValid()) {
                search.addLink(span.getSpanContext());
            }
        }
        try {
            decode(accepted, ids, features, parameters, spans, search.startSpan(), out);
        } finally {
            spans.forEach(Span::end);
        }
    }

    private void decode(
            List<ConsumerRecord<byte[], byte[]>> accepted,
            List<String> ids,
            List<float[]> features,
            List<Map<String, InferParameter>> parameters,
            List<Span> spans,
            Span search,
            List<ProducerRecord<byte[], byte[]>> out)
            throws Exception {
        DeadLetters deadLetters = kafka.deadLetters();
        List<Caption> captions;
        try {
            captions = captioner.caption(ids, features);
        } catch (IllegalArgumentException e) {
            // One vector the decoder refuses must fail alone: decode the poll's vectors one by one.
            captions = new ArrayList<>(accepted.size());
            for (int i = 0; i < accepted.size(); i++) {
                try {
                    captions.add(captioner
                            .caption(List.of(ids.get(i)), List.of(features.get(i)))
                            .get(0));
                } catch (IllegalArgumentException one) {
                    spans.get(i).setStatus(StatusCode.ERROR, one.getMessage());
                    out.add(deadLetters.forRecord(accepted.get(i), STAGE, ReasonCode.INVALID_TENSOR, one.getMessage()));
                    captions.add(null);
                }
            }
        } finally {
            search.end();
        }
        for (int i = 0; i < accepted.size(); i++) {
            if (captions.get(i) == null) {
                continue;
            }
            ConsumerRecord<byte[], byte[]> in = accepted.get(i);
            ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(
                    this.captions.name(),
                    ids.get(i).getBytes(StandardCharsets.UTF_8),
                    this.captions.encode(withRequest(captions.get(i), parameters.get(i))));
            RecordHeaders.propagate(in.headers(), record.headers());
            if (record.headers().lastHeader(RecordHeaders.REQUEST_ID) == null) {
                RecordHeaders.put(record.headers(), RecordHeaders.REQUEST_ID, ids.get(i));
            }
            tracing.inject(spans.get(i), record.headers());
            out.add(record);
        }
    }

    @PreDestroy
    void stop() {
        if (loop != null) {
            loop.close();
        }
    }

    /**
     * A caption with what its features record (or the encoder's response) says of the request: the
     * models it went to, and the caption encoder's out-of-domain score of the image.
     */
    public static Caption withRequest(Caption caption, Map<String, InferParameter> parameters) {
        Caption.Builder out = caption.toBuilder().addAllRequestModels(RequestModels.of(parameters));
        double[] domain = DomainScore.read(parameters);
        if (domain != null) {
            out.setDomainScore((float) domain[0])
                    .setDomainThreshold((float) domain[1])
                    .setOutOfDomain(domain[2] > 0);
        }
        return out.build();
    }
}
