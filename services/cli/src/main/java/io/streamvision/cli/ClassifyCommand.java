package io.streamvision.cli;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ClassifyRequest;
import io.streamvision.proto.vision.v1.ScoringServiceGrpc;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code vision classify}: top-k labels (or a detector's objects) for images from the scoring
 * service's Classify RPC.
 */
@Command(
        name = "classify",
        mixinStandardHelpOptions = true,
        description = "Classify images over gRPC (vision.v1.ScoringService/Classify on the scoring service).")
public class ClassifyCommand extends ImageRpcCommand {

    @Mixin
    ScoringModelOptions target;

    @Override
    String server() {
        return target.server;
    }

    @Override
    Map<String, Object> call(Channel channel, Path file, byte[] image) {
        Classification c = deadline(ScoringServiceGrpc.newBlockingStub(channel))
                .classify(ClassifyRequest.newBuilder()
                        .setRequestId(file.getFileName().toString())
                        .setImage(ByteString.copyFrom(image))
                        .setModelName(target.model)
                        .setModelVersion(target.version)
                        .setTopK(topK.value)
                        .build())
                .getClassification();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("model", c.getModelName());
        fields.put("version", c.getModelVersion());
        fields.put("labels", labels(c));
        if (c.getDetector()) {
            fields.put("objects", objects(c));
        }
        if (c.getDomainThreshold() != 0) {
            fields.put("out_of_domain", c.getOutOfDomain());
            fields.put("domain_score", c.getDomainScore());
            fields.put("domain_threshold", c.getDomainThreshold());
        }
        return fields;
    }

    /** A detector's objects, each with its label, score and box in the image's pixels. */
    static List<Map<String, Object>> objects(Classification c) {
        return c.getDetectionsList().stream()
                .map(d -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("label", d.getLabel());
                    m.put("score", d.getScore());
                    m.put(
                            "box",
                            List.of(
                                    d.getBox().getXMin(),
                                    d.getBox().getYMin(),
                                    d.getBox().getXMax(),
                                    d.getBox().getYMax()));
                    return m;
                })
                .toList();
    }

    static List<Map<String, Object>> labels(Classification c) {
        return c.getLabelsList().stream()
                .map(l -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("label", l.getLabel());
                    m.put("probability", l.getProbability());
                    return m;
                })
                .toList();
    }

    @SuppressWarnings("unchecked")
    static String objectText(Object objects) {
        List<Map<String, Object>> list = (List<Map<String, Object>>) objects;
        if (list.isEmpty()) {
            return "no objects";
        }
        return list.stream()
                .map(o -> {
                    List<Number> box = (List<Number>) o.get("box");
                    return String.format(
                            "%s %.0f%% [%.0f,%.0f-%.0f,%.0f]",
                            o.get("label"),
                            100 * ((Number) o.get("score")).doubleValue(),
                            box.get(0).doubleValue(),
                            box.get(1).doubleValue(),
                            box.get(2).doubleValue(),
                            box.get(3).doubleValue());
                })
                .collect(Collectors.joining(", "));
    }

    @SuppressWarnings("unchecked")
    static String labelText(Object labels) {
        return ((List<Map<String, Object>>) labels)
                .stream()
                        .map(l -> String.format(
                                "%s %.1f%%", l.get("label"), 100 * ((Number) l.get("probability")).doubleValue()))
                        .collect(Collectors.joining(", "));
    }

    @Override
    String line(Map<String, Object> fields) {
        Object text =
                fields.containsKey("objects") ? objectText(fields.get("objects")) : labelText(fields.get("labels"));
        String domain = Boolean.TRUE.equals(fields.get("out_of_domain"))
                ? RecordPrinter.outOfDomain(
                        true,
                        ((Number) fields.get("domain_score")).floatValue(),
                        ((Number) fields.get("domain_threshold")).floatValue())
                : "";
        return text + domain + "  (" + fields.get("model") + " v" + fields.get("version") + ")";
    }
}
