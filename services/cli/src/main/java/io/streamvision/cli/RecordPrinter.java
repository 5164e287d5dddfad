package io.streamvision.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageResult;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Decodes the records of a vision topic (by its type, {@link Topic}) and renders them as JSON or
 * one line.
 */
final class RecordPrinter {

    private static final JsonFormat.Printer JSON =
            JsonFormat.printer().omittingInsignificantWhitespace().preservingProtoFieldNames();

    /** Short names accepted for the topics (without version or suffix). */
    static final Map<String, String> ALIASES = Map.of(
            "images",
            Topics.IMAGES,
            "videos",
            Topics.VIDEOS,
            "video-events",
            Topics.VIDEO_EVENTS,
            "scores",
            Topics.SCORES,
            "features",
            Topics.FEATURES,
            "captions",
            Topics.CAPTIONS,
            "results",
            Topics.RESULTS,
            "video-summaries",
            Topics.VIDEO_SUMMARIES,
            "dlq",
            Topics.DLQ);

    private final Topic<?> topic;

    /** A printer of {@code topic}'s records; null prints only their sizes. */
    RecordPrinter(Topic<?> topic) {
        this.topic = topic;
    }

    /**
     * The topic a user means: an alias ({@code results}) gets the deployment's suffix; a full name
     * is taken with or without it. Empty for a topic that is not one of the system's.
     */
    static Optional<Topic<?>> resolve(Topics topics, String given) {
        String base = ALIASES.get(given);
        if (base != null) {
            return topics.named(base + topics.suffix());
        }
        return topics.named(given).or(() -> new Topics("").named(given));
    }

    private Message parse(byte[] value) {
        try {
            return topic.parse(value);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }

    /** JSON of the record value, or a note when it is not the topic's message type. */
    String json(byte[] value) {
        if (topic == null) {
            return "{\"bytes\":" + (value == null ? 0 : value.length) + "}";
        }
        Message m = value == null ? null : parse(value);
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
        Message m = topic == null || value == null ? null : parse(value);
        if (m instanceof ImageResult r) {
            return (r.getComplete() ? "" : "[partial: " + r.getMissingReason() + "] ")
                    + (r.hasCaption()
                            ? "\"" + r.getCaption().getText() + "\""
                                    + outOfDomain(
                                            r.getCaption().getOutOfDomain(),
                                            r.getCaption().getDomainScore(),
                                            r.getCaption().getDomainThreshold())
                                    + "  "
                            : "")
                    + r.getClassificationsList().stream()
                            .map(RecordPrinter::labels)
                            .collect(Collectors.joining("; "));
        }
        if (m instanceof Caption c) {
            return "\""
                    + c.getText()
                    + "\" ("
                    + c.getSearch()
                    + ", log p "
                    + String.format("%.3f", c.getLogProbability())
                    + ")";
        }
        if (m instanceof Classification c) {
            return (c.getVideoId().isEmpty()
                            ? ""
                            : c.getVideoId() + " frame " + c.getFrameIndex() + " @" + c.getPtsMs() + " ms  ")
                    + labels(c);
        }
        if (m instanceof DeadLetter d) {
            return d.getReason() + " at " + d.getStage() + ": " + d.getMessage();
        }
        return json(value);
    }

    static String labels(Classification c) {
        if (c.getDetector()) {
            return c.getModelName() + ": " + objects(c);
        }
        return c.getModelName()
                + ": "
                + c.getLabelsList().stream()
                        .map(l -> String.format("%s %.1f%%", l.getLabel(), 100 * l.getProbability()))
                        .collect(Collectors.joining(", "))
                + outOfDomain(c.getOutOfDomain(), c.getDomainScore(), c.getDomainThreshold());
    }

    /** The note an out-of-domain answer gets, or nothing. */
    static String outOfDomain(boolean flagged, float score, float threshold) {
        return flagged
                ? String.format(
                        " [OUT OF DOMAIN: score %.4g above %.4g; the model was not trained on images like this]",
                        score, threshold)
                : "";
    }

    /** A detector's objects: label, score and box (x1,y1-x2,y2 in the image's pixels), or "no objects". */
    static String objects(Classification c) {
        return ClassifyCommand.objectText(ClassifyCommand.objects(c));
    }
}
