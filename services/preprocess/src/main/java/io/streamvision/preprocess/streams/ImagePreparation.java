package io.streamvision.preprocess.streams;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.streamvision.imaging.ColourManagement;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.imaging.RgbImage;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Stages;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.RequestModels;
import io.streamvision.preprocess.ImageModels;
import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.tracing.RecordTracing;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Turns one {@code vision.images.v1} record into its outputs: a tensor record per requested model,
 * or dead letters for what cannot be done. Every input yields at least one output, and each
 * rejection exactly one dead letter. Thread-safe (stateless apart from the model catalog).
 */
public final class ImagePreparation {

    /** Stage names written into dead letters. */
    static final String STAGE_PARSE = Stages.PREPROCESS_PARSE;

    static final String STAGE_DECODE = Stages.PREPROCESS_DECODE;
    static final String STAGE_PREPARE = Stages.PREPROCESS_PREPARE;

    private final Topics topics;
    private final DeadLetters deadLetters;
    private final ImageModels models;
    private final ImageDecoder decoder;
    private final RecordTracing tracing;

    /** @param tracing "decode" and "resize" spans in the current trace, or {@link RecordTracing#OFF} */
    public ImagePreparation(
            Topics topics, DeadLetters deadLetters, ImageModels models, ImageDecoder decoder, RecordTracing tracing) {
        this.tracing = tracing;
        this.topics = topics;
        this.deadLetters = deadLetters;
        this.models = models;
        this.decoder = decoder;
    }

    /** The last value of a header as UTF-8, or null. */
    static String header(Headers headers, String name) {
        if (headers == null) {
            return null;
        }
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** Where the input came from, for dead letters. */
    public record Source(String topic, int partition, long offset, byte[] key, Headers headers) {}

    /** The request id: the message's, else the key, else the record's coordinates. */
    public static String requestId(ImageRequest request, Source source) {
        if (request != null && !request.getRequestId().isEmpty()) {
            return request.getRequestId();
        }
        if (source.key() != null && source.key().length > 0) {
            return new String(source.key(), StandardCharsets.UTF_8);
        }
        return source.topic() + "-" + source.partition() + "-" + source.offset();
    }

    /** All outputs for one input record. */
    public List<Prepared> apply(byte[] value, Source source) {
        ImageRequest request;
        String contentType = header(source.headers(), "content-type");
        if (contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("image/")) {
            try {
                request = RawImageRecords.request(value, source.headers());
            } catch (IllegalArgumentException e) {
                return List.of(reject(source, value, STAGE_PARSE, ReasonCode.BAD_REQUEST, e.getMessage()));
            }
        } else {
            try {
                request = topics.images().parse(value);
            } catch (InvalidProtocolBufferException e) {
                return List.of(reject(
                        source,
                        value,
                        STAGE_PARSE,
                        ReasonCode.DESERIALIZATION_FAILED,
                        "record is not a vision.v1.ImageRequest (nor a raw image with a content-type: image/..."
                                + " header): "
                                + e.getMessage()));
            }
        }
        if (request.getImage().isEmpty()) {
            return List.of(reject(source, value, STAGE_PARSE, ReasonCode.BAD_REQUEST, "ImageRequest.image is empty"));
        }
        List<String> requested = models.requested(request.getModelsList());
        // Decoded once per colour-management mode the requested models use (almost always one).
        byte[] encoded = request.getImage().toByteArray();
        Map<ColourManagement, RgbImage> decoded = new EnumMap<>(ColourManagement.class);
        ColourManagement first = requested.stream()
                .map(models::latest)
                .flatMap(Optional::stream)
                .map(ModelConfig::imageInput)
                .filter(Objects::nonNull)
                .map(ModelConfig.TensorSpec::colours)
                .findFirst()
                .orElse(ColourManagement.NONE);
        Span decode = tracing.span("decode");
        try {
            decoded.put(first, decoder.decode(encoded, first));
            RgbImage image = decoded.get(first);
            decode.setAttribute("image.width", image.width()).setAttribute("image.height", image.height());
        } catch (ImageRejectedException e) {
            decode.setStatus(StatusCode.ERROR, e.getMessage());
            return List.of(reject(source, value, STAGE_DECODE, e.reason(), e.getMessage()));
        } finally {
            decode.end();
        }
        String requestId = requestId(request, source);
        List<Prepared> out = new ArrayList<>(requested.size());
        // Tensors first, then their records: each names only the models that got a tensor, so the
        // results join does not wait for the part of a model that was refused here.
        List<String> prepared = new ArrayList<>(requested.size());
        List<ModelConfig> configs = new ArrayList<>(requested.size());
        List<TensorPreparer.PreparedTensor> tensors = new ArrayList<>(requested.size());
        for (String model : requested) {
            try {
                ModelConfig config = models.resolve(model);
                ModelConfig.TensorSpec input = config.imageInput();
                ColourManagement colours = input.colours();
                RgbImage image = decoded.get(colours);
                if (image == null) {
                    image = decoder.decode(encoded, colours);
                    decoded.put(colours, image);
                }
                Span resize = tracing.span("resize").setAttribute("model", model);
                try {
                    tensors.add(models.tensor(image, config));
                } finally {
                    resize.end();
                }
                prepared.add(model);
                configs.add(config);
            } catch (ImageRejectedException e) {
                out.add(reject(source, value, STAGE_PREPARE, e.reason(), e.getMessage()));
            } catch (RuntimeException e) {
                // No input may stop the stream thread: what the preparation did not foresee is this
                // record's dead letter, and the next record goes on.
                out.add(reject(
                        source,
                        value,
                        STAGE_PREPARE,
                        ReasonCode.BAD_REQUEST,
                        "the image cannot be prepared for model '" + model + "': " + e));
            }
        }
        for (int i = 0; i < prepared.size(); i++) {
            out.add(Prepared.output(
                    requestId,
                    topics.tensors(prepared.get(i)).name(),
                    inferRequest(requestId, request, prepared, configs.get(i), tensors.get(i))));
        }
        return out;
    }

    private static byte[] inferRequest(
            String requestId,
            ImageRequest request,
            List<String> requested,
            ModelConfig config,
            TensorPreparer.PreparedTensor tensor) {
        ModelInferRequest.Builder infer = tensor.toInferRequest(requestId, config);
        RequestModels.put(infer, requested);
        if (request.getTopK() > 0) {
            infer.putParameters(
                    "top_k",
                    InferParameter.newBuilder().setInt64Param(request.getTopK()).build());
        }
        request.getAttributesMap()
                .forEach((k, v) -> infer.putParameters(
                        "attr." + k,
                        InferParameter.newBuilder().setStringParam(v).build()));
        return infer.build().toByteArray();
    }

    private Prepared reject(Source source, byte[] value, String stage, ReasonCode reason, String message) {
        DeadLetter letter = deadLetters.describe(
                stage,
                reason,
                message,
                new DeadLetters.Source(
                        source.topic(), source.partition(), source.offset(), source.key(), source.headers(), value));
        return Prepared.deadLetter(deadLetters, letter);
    }
}
