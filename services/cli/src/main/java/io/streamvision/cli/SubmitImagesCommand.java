package io.streamvision.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ImageResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vision submit-images}: streams images into {@code vision.images.v1} and, unless {@code
 * --no-wait}, prints the result of each (caption and labels from {@code vision.results.v1}, or its
 * dead letter) as it arrives.
 */
@Command(
        name = "submit-images",
        mixinStandardHelpOptions = true,
        description = "Send images through the Kafka pipeline (preprocess -> scoring -> captioning) and print "
                + "their results.")
public class SubmitImagesCommand extends KafkaCommand {

    @Parameters(arity = "1..*", paramLabel = "IMAGE|DIR", description = "Image files, or directories of them.")
    List<Path> inputs;

    @Option(
            names = {"-m", "--models"},
            split = ",")
    List<String> models = new ArrayList<>();

    @Mixin
    TopKOption topK;

    @Option(names = "--no-wait")
    boolean noWait;

    @Option(names = "--timeout-s", defaultValue = "120")
    long timeoutS;

    @Option(names = "--json")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<Path> files = Inputs.expand(inputs, Inputs.IMAGE_EXTENSIONS, "image");
        kafka.checkReachable();
        Topics topics = kafka.topics();
        PrintWriter out = out();
        PrintWriter err = err();
        String run = UUID.randomUUID().toString().substring(0, 8);
        Map<String, Path> pending = new LinkedHashMap<>();
        TopicReader reader = !noWait
                ? new TopicReader(
                        kafka.client(),
                        List.of(topics.results().name(), topics.deadLetters().name()),
                        false)
                : null;
        try (reader;
                KafkaProducer<byte[], byte[]> producer = Producers.create(kafka.client())) {
            for (Path file : files) {
                String id = Inputs.stem(file) + "-" + run;
                ImageRequest request = ImageRequest.newBuilder()
                        .setRequestId(id)
                        .setImage(ByteString.copyFrom(Inputs.read(file)))
                        .addAllModels(models)
                        .setTopK(topK.value)
                        .setSourceUri(file.toAbsolutePath().toUri().toString())
                        .build();
                ProducerRecord<byte[], byte[]> record =
                        Producers.record(topics.images().name(), id, request.toByteArray());
                producer.send(record);
                if (firstTrace == null) {
                    firstTrace = Producers.traceId(record) + " (" + file.getFileName() + ")";
                }
                pending.put(id, file);
                sentAt.put(id, System.nanoTime());
            }
            producer.flush();
            err.printf(
                    "sent %d image(s) to %s, each as its own trace; the first: trace id %s%n",
                    files.size(), topics.images().name(), firstTrace);
            if (reader == null) {
                return ExitCodes.OK;
            }
            int failed = 0;
            long deadline = System.nanoTime() + timeoutS * 1_000_000_000L;
            while (!pending.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(250))) {
                    failed += report(r, topics, pending, out, err);
                }
            }
            if (!pending.isEmpty()) {
                err.printf(
                        "timed out after %d s: no result for %d image(s): %s%n",
                        timeoutS, pending.size(), pending.values());
                return ExitCodes.TIMED_OUT;
            }
            printLatencies(err);
            return failed == 0 ? ExitCodes.OK : ExitCodes.SOME_FAILED;
        }
    }

    /** Send-to-result latency of the results seen, one line on stderr. */
    private void printLatencies(PrintWriter err) {
        if (latenciesMs.isEmpty()) {
            return;
        }
        List<Long> sorted = latenciesMs.stream().sorted().toList();
        err.printf(
                "latency (sent to result): p50 %d ms, p99 %d ms, max %d ms over %d results%n",
                sorted.get(sorted.size() / 2),
                sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1)),
                sorted.get(sorted.size() - 1),
                sorted.size());
    }

    private final Map<String, Long> sentAt = new HashMap<>();
    private String firstTrace;
    private final List<Long> latenciesMs = new ArrayList<>();

    private int report(
            ConsumerRecord<byte[], byte[]> r,
            Topics topics,
            Map<String, Path> pending,
            PrintWriter out,
            PrintWriter err)
            throws InvalidProtocolBufferException {
        if (r.topic().equals(topics.deadLetters().name())) {
            DeadLetter letter = topics.deadLetters().parse(r.value());
            Path file = pending.remove(letter.getRequestId());
            if (file != null) {
                err.printf("%s: %s at %s: %s%n", file, letter.getReason(), letter.getStage(), letter.getMessage());
                return 1;
            }
            return 0;
        }
        ImageResult result = topics.results().parse(r.value());
        Path file = pending.remove(result.getRequestId());
        if (file != null) {
            Long sent = sentAt.remove(result.getRequestId());
            if (sent != null) {
                latenciesMs.add((System.nanoTime() - sent) / 1_000_000);
            }
            String trace = Producers.traceId(RecordHeaders.text(r.headers(), RecordHeaders.TRACEPARENT));
            String value = new RecordPrinter(kafka.topics().results()).json(r.value());
            out.println(
                    json
                            ? (trace == null || !value.startsWith("{\"")
                                    ? value
                                    : "{\"trace_id\":\"" + trace + "\"," + value.substring(1))
                            : file.getFileName()
                                    + "  "
                                    + new RecordPrinter(kafka.topics().results()).line(r.value()));
            out.flush();
        }
        return 0;
    }
}
