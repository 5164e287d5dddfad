package io.streamvision.cli;

import io.streamvision.kafka.Topic;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vision follow}: prints the records of a vision topic as they arrive. */
@Command(
        name = "follow",
        mixinStandardHelpOptions = true,
        description = "Print records of a topic as they arrive, decoded: results, captions, scores, "
                + "video-summaries, video-events, dlq, images, videos, features, or a full topic name.")
public class FollowCommand extends KafkaCommand {

    @Parameters(index = "0", paramLabel = "TOPIC", description = "Short name (e.g. results) or full topic name.")
    String topic;

    @Option(names = "--from-beginning")
    boolean fromBeginning;

    @Option(
            names = {"-n", "--max-records"},
            defaultValue = "0")
    long maxRecords;

    @Option(names = "--timeout-s", defaultValue = "0")
    long idleTimeoutS;

    @Option(names = "--json")
    boolean json;

    @Override
    public Integer call() {
        Optional<Topic<?>> known = RecordPrinter.resolve(kafka.topics(), topic);
        String name = known.map(Topic::name).orElse(topic);
        RecordPrinter printer = new RecordPrinter(known.orElse(null));
        kafka.checkReachable();
        PrintWriter out = out();
        long seen = 0;
        long lastRecord = System.nanoTime();
        try (TopicReader reader = new TopicReader(kafka.client(), List.of(name), fromBeginning)) {
            while (maxRecords == 0 || seen < maxRecords) {
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(500))) {
                    String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
                    out.println(
                            json
                                    ? "{\"key\":\""
                                            + key.replace("\"", "\\\"")
                                            + "\",\"partition\":"
                                            + r.partition()
                                            + ",\"offset\":"
                                            + r.offset()
                                            + ",\"value\":"
                                            + printer.json(r.value())
                                            + "}"
                                    : key + "  " + printer.line(r.value()));
                    out.flush();
                    lastRecord = System.nanoTime();
                    if (++seen == maxRecords) {
                        break;
                    }
                }
                if (idleTimeoutS > 0 && System.nanoTime() - lastRecord > idleTimeoutS * 1_000_000_000L) {
                    break;
                }
            }
        }
        return ExitCodes.OK;
    }
}
