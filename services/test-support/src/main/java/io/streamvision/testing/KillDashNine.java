package io.streamvision.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The crash test of a service's transactional loop: while the packaged service runs, {@code
 * records} inputs are sent; once some are answered the process is killed with SIGKILL part-way
 * through, started again with the same transactional id, and every input must then have exactly
 * one output in read_committed. Prints what it sees (outputs at the kill, how long the restarted
 * process took to commit again) under the test's tag.
 */
public final class KillDashNine {

    /** Starts the service with its output in {@code log}. */
    @FunctionalInterface
    public interface Starter {
        Process start(Path log) throws Exception;
    }

    /** The input record with this id (the id is also its key). */
    @FunctionalInterface
    public interface Input {
        byte[] value(String id, int index) throws Exception;
    }

    /** The request id an output carries. */
    @FunctionalInterface
    public interface OutputId {
        String of(byte[] value) throws Exception;
    }

    /** How many inputs each crash test sends: enough that the kill lands mid-stream, in many transactions. */
    public static final int RECORDS = 2000;

    private KillDashNine() {}

    /**
     * Starts the packaged service of the module the test runs in, on the test models, with the same
     * transactional id and consumer group on every start and 16 records a poll.
     *
     * @param prefix the service's settings prefix, e.g. {@code vision.scoring}
     * @param own further settings of the service
     */
    public static Starter service(TestBroker broker, String topicSuffix, String prefix, Map<String, String> own) {
        String id = prefix.replace('.', '-') + "-kill-test";
        Map<String, String> settings = new HashMap<>(own);
        settings.putIfAbsent(prefix + ".models-dir", TestModels.dir().toString());
        settings.put(prefix + ".kafka.transactional-id", id);
        settings.put(prefix + ".kafka.group-id", id);
        settings.put(prefix + ".kafka.max-poll-records", "16");
        return log -> ServiceProcess.start(
                ".", ServiceProcess.settings(broker.bootstrapServers(), topicSuffix, settings), log);
    }

    /**
     * Runs the test and returns the count of outputs per input; the caller asserts on it.
     *
     * @param tag the prefix of the printed lines and the logs ({@code target/<tag>-first.log})
     * @param idPrefix input ids are {@code idPrefix + index}
     */
    public static ExactlyOnce run(
            TestBroker broker,
            String tag,
            int records,
            Starter service,
            String inputTopic,
            String idPrefix,
            Input input,
            TopicCollector outputs,
            OutputId outputId)
            throws Exception {
        Path firstLog = Path.of("target/" + tag + "-first.log");
        Process first = service.start(firstLog);
        List<String> ids = new ArrayList<>(records);
        try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
            for (int i = 0; i < records; i++) {
                String id = idPrefix + i;
                ids.add(id);
                producer.send(new ProducerRecord<>(inputTopic, id.getBytes(StandardCharsets.UTF_8), input.value(id, i)))
                        .get();
                if (i == records / 10) {
                    // Kill once part of the stream is answered, not all of it.
                    outputs.awaitAtLeast(records / 20, Duration.ofSeconds(120));
                }
                if (i == records / 5) {
                    int atKill = outputs.records().size();
                    first.destroyForcibly().waitFor();
                    System.out.printf(
                            "[%s] killed the first process (SIGKILL) with %d outputs committed and %d inputs sent%n",
                            tag, atKill, i + 1);
                    assertTrue(atKill > 0 && atKill < records, "killed part-way; see " + firstLog);
                }
            }
        }
        Thread.sleep(1000);
        int beforeRestart = outputs.records().size();
        long restartedAt = System.nanoTime();
        Process second = service.start(Path.of("target/" + tag + "-second.log"));
        try {
            outputs.awaitAtLeast(beforeRestart + 1, Duration.ofSeconds(120));
            double resumedS = (System.nanoTime() - restartedAt) / 1e9;
            System.out.printf(
                    "[%s] the restarted process committed its first output %.1f s after it started"
                            + " (JVM start, group join, transactional fencing)%n",
                    tag, resumedS);
            assertTrue(resumedS < 60, "the restarted process resumes: " + resumedS + " s");
            outputs.awaitAtLeast(records, Duration.ofSeconds(180));
            // Time for a duplicate, if any, to arrive.
            Thread.sleep(3000);
            List<String> answered = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> record : outputs.records()) {
                answered.add(outputId.of(record.value()));
            }
            ExactlyOnce counted = ExactlyOnce.of(ids, answered);
            System.out.printf("[%s] %s%n", tag, counted.summary());
            return counted;
        } finally {
            second.destroy();
            second.waitFor();
        }
    }
}
