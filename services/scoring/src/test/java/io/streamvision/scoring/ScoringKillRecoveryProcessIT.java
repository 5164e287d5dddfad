package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.testing.ExactlyOnce;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Exactly once across a crash: the packaged scoring service runs as a separate process, is killed
 * with SIGKILL part-way through 2,000 records, and is started again with the same transactional id.
 * Every input must then have exactly one output in read_committed.
 */
@ExtendWith(KafkaBrokerExtension.class)
class ScoringKillRecoveryProcessIT {

    static final int RECORDS = 2000;
    static final String SUFFIX = ".it-kill";

    private Process start(TestBroker broker, Path log) throws Exception {
        String models = TestModels.dir().toString();
        return ServiceProcess.start(
                ".",
                ServiceProcess.settings(
                        broker.bootstrapServers(),
                        SUFFIX,
                        Map.of(
                                "vision.scoring.models-dir", models,
                                "vision.scoring.models", "lenet",
                                "vision.scoring.kafka.transactional-id", "vision-scoring-kill-test",
                                "vision.scoring.kafka.group-id", "vision-scoring-kill-test",
                                "vision.scoring.kafka.max-poll-records", "16")),
                log);
    }

    @Test
    void everyInputHasExactlyOneOutputAfterAKillDashNine() throws Exception {
        TestBroker broker = TestBrokers.shared();
        System.out.println("[kill -9 IT] talking to Kafka at " + broker.bootstrapServers());
        Topics topics = new Topics(SUFFIX);
        Path log1 = Path.of("target/kill-test-first-run.log");
        Path log2 = Path.of("target/kill-test-second-run.log");

        try (TopicCollector scores = broker.collect(topics.scores().name());
                TopicCollector deadLetters = broker.collect(topics.deadLetters().name())) {
            Process first = start(broker, log1);
            int atKill;
            try (KafkaProducer<byte[], byte[]> producer = broker.producer()) {
                for (int i = 0; i < RECORDS; i++) {
                    String id = "rec-" + i;
                    producer.send(new ProducerRecord<>(
                                    topics.tensors("lenet").name(),
                                    id.getBytes(StandardCharsets.UTF_8),
                                    ScoringServiceIT.image(id, "lenet", (i % 7) / 7f)
                                            .toByteArray()))
                            .get();
                    if (i == 200) {
                        // Kill once part of the stream is scored, not all of it.
                        scores.awaitAtLeast(100, Duration.ofSeconds(120));
                    }
                    if (i == 400) {
                        atKill = scores.records().size();
                        first.destroyForcibly().waitFor();
                        System.out.printf(
                                "[kill -9 IT] killed the first process (SIGKILL) with %d outputs committed"
                                        + " and %d inputs sent%n",
                                atKill, i + 1);
                        assertTrue(atKill > 0 && atKill < RECORDS, "killed part-way; see " + log1);
                    }
                }
            }
            Thread.sleep(1000);
            int beforeRestart = scores.records().size();
            long restartedAt = System.nanoTime();
            Process second = start(broker, log2);
            try {
                scores.awaitAtLeast(beforeRestart + 1, Duration.ofSeconds(120));
                double resumedS = (System.nanoTime() - restartedAt) / 1e9;
                System.out.printf(
                        "[kill -9 IT] the restarted instance committed its first output %.1f s after its"
                                + " process started (JVM start, group rejoin, transactional fencing)%n",
                        resumedS);
                assertTrue(resumedS < 60, "the restarted instance resumes: " + resumedS + " s");
                scores.awaitAtLeast(RECORDS, Duration.ofSeconds(120));
                Thread.sleep(3000);
                List<String> outputIds = new ArrayList<>();
                for (ConsumerRecord<byte[], byte[]> record : scores.records()) {
                    outputIds.add(Classification.parseFrom(record.value()).getRequestId());
                }
                ExactlyOnce check = ExactlyOnce.of(
                        IntStream.range(0, RECORDS).mapToObj(i -> "rec-" + i).toList(), outputIds);
                System.out.printf(
                        "[kill -9 IT] %s, %d dead letters%n",
                        check.summary(), deadLetters.records().size());
                check.assertExactlyOnce();
                assertEquals(0, deadLetters.records().size());
            } finally {
                second.destroy();
                second.waitFor();
            }
        }
    }
}
