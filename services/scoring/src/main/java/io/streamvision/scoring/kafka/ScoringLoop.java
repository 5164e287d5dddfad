package io.streamvision.scoring.kafka;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import io.quarkus.runtime.StartupEvent;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.KafkaClients;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Stages;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.kafka.TransactionalLoop;
import io.streamvision.model.FrameParameters;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.runtime.Classifications;
import io.streamvision.runtime.DomainScore;
import io.streamvision.runtime.DynamicBatcher;
import io.streamvision.runtime.InferenceEngine;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ServedModels;
import io.streamvision.scoring.ScoringConfig;
import io.streamvision.tracing.RecordTracing;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jboss.logging.Logger;

/**
 * The Kafka path of the scoring service: reads every {@code vision.tensors.<model>.v1} topic (OIP
 * {@code ModelInferRequest} records), scores each poll's records in one batch per model, and writes
 * top-k {@code Classification}s to {@code vision.scores.v1} and, for models with a features output,
 * an OIP {@code ModelInferResponse} holding only the features to {@code vision.features.v1}.
 * Records that cannot be scored go to {@code vision.dlq.v1}. Consume, infer and produce happen in
 * one Kafka transaction per poll.
 */
@ApplicationScoped
public class ScoringLoop {

    static final String STAGE = Stages.SCORING_SCORE;
    private static final Logger LOG = Logger.getLogger(ScoringLoop.class);

    @Inject
    ScoringConfig config;

    @Inject
    KafkaClients kafka;

    @Inject
    ServedModels models;

    @Inject
    DynamicBatcher batcher;

    @Inject
    RecordTracing tracing;

    private TransactionalLoop loop;

    void onStart(@Observes StartupEvent event) {
        if (!config.kafka().enabled()) {
            return;
        }
        Topics topics = kafka.topics();
        List<String> names = new ArrayList<>(List.of(
                topics.scores().name(),
                topics.features().name(),
                topics.deadLetters().name()));
        models.registry()
                .serving()
                .keySet()
                .forEach(model -> names.add(topics.tensors(model).name()));
        kafka.ensureTopics(names);
        PollSize poll = PollSize.of(
                config.kafka().maxPollRecords(),
                models.registry().serving().values().stream()
                        .map(LoadedModel::config)
                        .toList());
        LOG.infof("Kafka loop: %d records per poll, fetch sizes %s", poll.records(), poll.fetch());
        loop = kafka.loop(
                "scoring", config.kafka(), topics.tensorTopicPattern(), this::handle, poll.records(), poll.fetch());
        loop.start();
    }

    /** Loop state, for readiness; empty when the loop is disabled. */
    public Optional<TransactionalLoop> loop() {
        return Optional.ofNullable(loop);
    }

    void handle(List<ConsumerRecord<byte[], byte[]>> records, List<ProducerRecord<byte[], byte[]>> out) {
        Topics topics = kafka.topics();
        DeadLetters deadLetters = kafka.deadLetters();
        Map<String, List<ConsumerRecord<byte[], byte[]>>> byModel = new LinkedHashMap<>();
        Map<ConsumerRecord<byte[], byte[]>, ModelInferRequest> parsed = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            // The loop reads every model's tensor topic; all carry ModelInferRequest values.
            Topic<ModelInferRequest> in = new Topic<>(record.topic(), ModelInferRequest.getDefaultInstance());
            try {
                ModelInferRequest request = in.parse(record.value());
                if (request.getModelName().isEmpty()) {
                    out.add(deadLetters.forRecord(
                            record, STAGE, ReasonCode.BAD_REQUEST, "ModelInferRequest.model_name is empty"));
                    continue;
                }
                parsed.put(record, request);
                byModel.computeIfAbsent(
                                request.getModelName() + "\u0000" + request.getModelVersion(), x -> new ArrayList<>())
                        .add(record);
            } catch (InvalidProtocolBufferException e) {
                out.add(deadLetters.unparsable(record, STAGE, in, e));
            }
        }
        List<ConsumerRecord<byte[], byte[]>> submitted = new ArrayList<>();
        List<CompletableFuture<InferenceEngine.Outcome>> futures = new ArrayList<>();
        List<Span> spans = new ArrayList<>();
        for (List<ConsumerRecord<byte[], byte[]>> group : byModel.values()) {
            for (ConsumerRecord<byte[], byte[]> record : group) {
                submitted.add(record);
                Span span = tracing.consume("score", record.headers());
                try (Scope scope = span.makeCurrent()) {
                    futures.add(batcher.submitWaiting(parsed.get(record)));
                }
                spans.add(span);
            }
        }
        for (int i = 0; i < submitted.size(); i++) {
            ConsumerRecord<byte[], byte[]> record = submitted.get(i);
            Span span = spans.get(i);
            int first = out.size();
            try {
                InferenceEngine.Outcome outcome = futures.get(i).join();
                if (!outcome.ok()) {
                    span.setStatus(StatusCode.ERROR, outcome.error().getMessage());
                    out.add(deadLetters.forRecord(
                            record,
                            STAGE,
                            outcome.error().reason(),
                            outcome.error().getMessage()));
                    continue;
                }
                ModelInferRequest request = parsed.get(record);
                // The config of the version that ran, even when a new one was swapped in since.
                ModelConfig model = outcome.model();
                span.setAttribute("model", model.name());
                double[] domain = DomainScore.read(outcome.response().getParametersMap());
                // Video frames are never dead-lettered: their video's summary counts every frame, and
                // flagged ones form no segment there.
                if (domain != null
                        && domain[2] > 0
                        && model.outOfDomain() != null
                        && Boolean.TRUE.equals(model.outOfDomain().deadLetter())
                        && FrameParameters.of(request).isEmpty()) {
                    out.add(deadLetters.forRecord(
                            record,
                            STAGE,
                            ReasonCode.OUT_OF_DOMAIN,
                            String.format(
                                    java.util.Locale.ROOT,
                                    "model %s v%s was not trained on inputs like this one: out-of-domain score %.4g"
                                            + " is above its threshold %.4g (%s)",
                                    model.name(),
                                    outcome.response().getModelVersion(),
                                    domain[0],
                                    domain[1],
                                    model.outOfDomain().method())));
                    continue;
                }
                emit(model, request, outcome.response(), record, topics, out);
            } finally {
                for (int j = first; j < out.size(); j++) {
                    tracing.inject(span, out.get(j).headers());
                }
                span.end();
            }
        }
    }

    private void emit(
            ModelConfig model,
            ModelInferRequest request,
            ModelInferResponse response,
            ConsumerRecord<byte[], byte[]> record,
            Topics topics,
            List<ProducerRecord<byte[], byte[]>> out) {
        // Frames of a video keep the video id as their key, so the per-video aggregation finds
        // them in the partition of the video's events without a repartition topic.
        java.util.Optional<FrameParameters> frame = FrameParameters.of(request);
        byte[] key = frame.isPresent()
                ? frame.get().videoId().getBytes(StandardCharsets.UTF_8)
                : response.getId().isEmpty() ? record.key() : response.getId().getBytes(StandardCharsets.UTF_8);
        int k = request.containsParameters("top_k")
                ? (int) request.getParametersOrThrow("top_k").getInt64Param()
                : config.topK();
        Classification classification = Classifications.fromResponse(model, request, response, k);
        if (classification != null && frame.isPresent()) {
            classification = classification.toBuilder()
                    .setVideoId(frame.get().videoId())
                    .setFrameIndex(frame.get().frameIndex())
                    .setPtsMs(frame.get().ptsMs())
                    .build();
        }
        if (classification != null) {
            out.add(withHeaders(
                    new ProducerRecord<>(
                            topics.scores().name(), key, topics.scores().encode(classification)),
                    record,
                    response));
        }
        var features = model.output("features");
        if (features != null && emitsFeatures(model)) {
            ModelInferResponse.Builder only =
                    response.toBuilder().clearOutputs().clearRawOutputContents();
            only.putAllParameters(request.getParametersMap());
            for (int i = 0; i < response.getOutputsCount(); i++) {
                if (response.getOutputs(i).getName().equals(features.name())) {
                    only.addOutputs(response.getOutputs(i)).addRawOutputContents(response.getRawOutputContents(i));
                }
            }
            out.add(withHeaders(
                    new ProducerRecord<>(
                            topics.features().name(), key, only.build().toByteArray()),
                    record,
                    response));
        }
    }

    /** Caption encoders always publish features; other models only when listed in the config. */
    private boolean emitsFeatures(ModelConfig model) {
        return "caption-encoder".equals(model.task())
                || config.emitFeatures()
                        .map(list -> list.contains(model.name()))
                        .orElse(false);
    }

    private static ProducerRecord<byte[], byte[]> withHeaders(
            ProducerRecord<byte[], byte[]> out, ConsumerRecord<byte[], byte[]> in, ModelInferResponse response) {
        RecordHeaders.propagate(in.headers(), out.headers());
        if (out.headers().lastHeader(RecordHeaders.REQUEST_ID) == null
                && !response.getId().isEmpty()) {
            RecordHeaders.put(out.headers(), RecordHeaders.REQUEST_ID, response.getId());
        }
        return out;
    }

    @PreDestroy
    void stop() {
        if (loop != null) {
            loop.close();
        }
    }
}
