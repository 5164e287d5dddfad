package io.streamvision.cli;

import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;

import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;
import io.streamvision.kafka.Topics;

/** Decodes the records of a vision topic (by its name) and renders them as JSON or one line. */
final class RecordPrinter {

    private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace()
            .preservingProtoFieldNames();

    private final Function<byte[], Message> parser;

    private RecordPrinter(Function<byte[], Message> parser) {
        this.parser = parser;
    }

    /** Short names accepted for the topics (without version or suffix). */
    static final Map<String, String> ALIASES = Map.of("images", Topics.IMAGES, "videos", Topics.VIDEOS,
            "video-events", Topics.VIDEO_EVENTS, "scores", Topics.SCORES, "features", Topics.FEATURES, "captions",
            Topics.CAPTIONS, "results", Topics.RESULTS, "video-summaries", Topics.VIDEO_SUMMARIES, "dlq", Topics.DLQ);

    static RecordPrinter forTopic(String baseTopic) {
        return new RecordPrinter(switch (baseTopic) {
            case Topics.IMAGES -> parse(ImageRequest::parseFrom);
            case Topics.VIDEOS -> parse(VideoRequest::parseFrom);
            case Topics.VIDEO_EVENTS -> parse(VideoSampled::parseFrom);
            case Topics.SCORES -> parse(Classification::parseFrom);
            case Topics.FEATURES -> parse(ModelInferResponse::parseFrom);
            case Topics.CAPTIONS -> parse(Caption::parseFrom);
            case Topics.RESULTS -> parse(ImageResult::parseFrom);
            case Topics.VIDEO_SUMMARIES -> parse(VideoSummary::parseFrom);
            case Topics.DLQ -> parse(DeadLetter::parseFrom);
            default -> baseTopic.startsWith("vision.tensors.") ? parse(ModelInferRequest::parseFrom) : null;
        });
    }

    interface Parser {
        Message parse(byte[] bytes) throws InvalidProtocolBufferException;
    }

    private static Function<byte[], Message> parse(Parser p) {
        return bytes -> {
            try {
                return p.parse(bytes);
            } catch (InvalidProtocolBufferException e) {
                return null;
            }
        };
    }

    /** JSON of the record value, or a note when it is not the topic's message type. */
    String json(byte[] value) {
        if (parser == null) {
            return "{\"bytes\":" + (value == null ? 0 : value.length) + "}";
        }
        Message m = value == null ? null : parser.apply(value);
        if (m == null) {
            return "{\"undecodable_bytes\":" + (value == null ? 0 : value.length) + "}";
        }
        try {
            return JSON.print(m);
        } catch (InvalidProtocolBufferException e) {
            return "{\"error\":\"" + e.getMessage() + "\"}";
        }
    }

    /** A one-line human summary for the common result types, else the JSON. */
    String line(byte[] value) {
        Message m = parser == null || value == null ? null : parser.apply(value);
        if (m instanceof ImageResult r) {
            return (r.getComplete() ? "" : "[partial: " + r.getMissingReason() + "] ")
                    + (r.hasCaption() ? "\"" + r.getCaption().getText() + "\"  " : "")
                    + r.getClassificationsList().stream().map(RecordPrinter::labels).collect(Collectors.joining("; "));
        }
        if (m instanceof Caption c) {
            return "\"" + c.getText() + "\" (" + c.getSearch() + ", log p " + String.format("%.3f", c.getLogProbability()) + ")";
        }
        if (m instanceof Classification c) {
            return (c.getVideoId().isEmpty() ? "" : c.getVideoId() + " frame " + c.getFrameIndex() + " @" + c.getPtsMs()
                    + " ms  ") + labels(c);
        }
        if (m instanceof DeadLetter d) {
            return d.getReason() + " at " + d.getStage() + ": " + d.getMessage();
        }
        return json(value);
    }

    static String labels(Classification c) {
        return c.getModelName() + ": " + c.getLabelsList().stream()
                .map(l -> String.format("%s %.1f%%", l.getLabel(), 100 * l.getProbability()))
                .collect(Collectors.joining(", "));
    }
}
