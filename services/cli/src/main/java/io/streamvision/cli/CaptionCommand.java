package io.streamvision.cli;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.CaptionRequest;
import io.streamvision.proto.vision.v1.CaptioningServiceGrpc;
import io.streamvision.proto.vision.v1.DescribeRequest;
import io.streamvision.proto.vision.v1.DescribeResponse;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vision caption}: captions (optionally with labels) from the captioning service. */
@Command(
        name = "caption",
        mixinStandardHelpOptions = true,
        description = "Caption images over gRPC (vision.v1.CaptioningService/Caption, or Describe with --labels, "
                + "on the captioning service).")
public class CaptionCommand extends ImageRpcCommand {

    @Option(
            names = {"-s", "--server"},
            defaultValue = "${VISION_CAPTIONING_GRPC:-localhost:8003}")
    String server;

    @Option(
            names = {"-b", "--beam"},
            defaultValue = "0")
    int beam;

    @Option(names = "--labels", paramLabel = "MODEL")
    String classifier;

    @Override
    String server() {
        return server;
    }

    @Override
    Map<String, Object> call(Channel channel, Path file, byte[] image) {
        CaptioningServiceGrpc.CaptioningServiceBlockingStub stub =
                deadline(CaptioningServiceGrpc.newBlockingStub(channel));
        String id = file.getFileName().toString();
        Map<String, Object> fields = new LinkedHashMap<>();
        Caption caption;
        if (classifier != null) {
            DescribeResponse r = stub.describe(DescribeRequest.newBuilder()
                    .setRequestId(id)
                    .setImage(ByteString.copyFrom(image))
                    .setClassifier(classifier)
                    .setTopK(topK.value)
                    .setBeamWidth(beam)
                    .build());
            caption = r.getCaption();
            fields.put("labels", ClassifyCommand.labels(r.getClassification()));
        } else {
            caption = stub.caption(CaptionRequest.newBuilder()
                            .setRequestId(id)
                            .setImage(ByteString.copyFrom(image))
                            .setBeamWidth(beam)
                            .build())
                    .getCaption();
        }
        fields.put("caption", caption.getText());
        fields.put("log_probability", caption.getLogProbability());
        fields.put("search", caption.getSearch());
        fields.put("beam_width", caption.getBeamWidth());
        fields.put(
                "alternatives",
                caption.getAlternativesList().stream()
                        .map(a -> Map.of("caption", a.getText(), "log_probability", a.getLogProbability()))
                        .toList());
        fields.put("decoder", caption.getDecoderModel() + " v" + caption.getDecoderVersion());
        if (caption.getDomainThreshold() != 0) {
            fields.put("out_of_domain", caption.getOutOfDomain());
            fields.put("domain_score", caption.getDomainScore());
            fields.put("domain_threshold", caption.getDomainThreshold());
        }
        return fields;
    }

    @Override
    String line(Map<String, Object> fields) {
        String text = "\"" + fields.get("caption") + "\""
                + (Boolean.TRUE.equals(fields.get("out_of_domain"))
                        ? RecordPrinter.outOfDomain(
                                true,
                                ((Number) fields.get("domain_score")).floatValue(),
                                ((Number) fields.get("domain_threshold")).floatValue())
                        : "");
        return fields.containsKey("labels")
                ? text + "  [" + ClassifyCommand.labelText(fields.get("labels")) + "]"
                : text;
    }
}
