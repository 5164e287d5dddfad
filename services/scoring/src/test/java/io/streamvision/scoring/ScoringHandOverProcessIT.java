package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hand-over between two packaged scoring instances of one consumer group. On SIGTERM an instance
 * finishes its batch, commits, and leaves the group, so the other one serves its partitions at
 * once; after SIGKILL the other one waits for the session timeout (10 s by default). The test
 * measures both (the time from the signal until a record sent to every partition has been scored)
 * and prints them; each record is scored exactly once.
 */
@ExtendWith(KafkaBrokerExtension.class)
class ScoringHandOverProcessIT {

    static final String SUFFIX = ".it-handover";
    static final int PARTITIONS = 3;

    private record Instance(Process process, int port) {}

    private Instance start(TestBroker broker, String name) throws Exception {
        String models = TestModels.dir().toString();
        int port = ServiceProcess.freePort();
        Process p = ServiceProcess.start(
                ".",
                ServiceProcess.settings(
                        broker.bootstrapServers(),
                        SUFFIX,
                        Map.of(
                                "vision.kafka.partitions",
                                Integer.toString(PARTITIONS),
                                "vision.scoring.models-dir",
                                models,
                                "vision.scoring.models",
                                "lenet",
                                "vision.scoring.kafka.transactional-id",
                                "vision-scoring-handover-" + name,
                                "vision.scoring.kafka.group-id",
                                "vision-scoring-handover",
                                "quarkus.management.port",
                                Integer.toString(port))),
                Path.of("target/handover-" + name + ".log"));
        return new Instance(p, port);
    }

    /** Sends one record to every partition; returns the seconds until all of them are scored. */
    private double probe(
            KafkaProducer<byte[], byte[]> producer, TopicCollector scores, Topics topics, String round, long start)
            throws Exception {
        int before = scores.records().size();
        for (int p = 0; p < PARTITIONS; p++) {
            String id = round + "-" + p;
            producer.send(new ProducerRecord<>(
                            topics.tensors("lenet").name(),
                            p,
                            id.getBytes(StandardCharsets.UTF_8),
                            ScoringServiceIT.image(id, "lenet", 0.5f).toByteArray()))
                    .get();
        }
        scores.awaitAtLeast(before + PARTITIONS, Duration.ofSeconds(90));
        return (System.nanoTime() - start) / 1e9;
    }

    @Test
    void sigtermHandsPartitionsOverAtOnceAndSigkillAfterTheSessionTimeout() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Topics topics = new Topics(SUFFIX);
        try (TopicCollector scores = broker.collect(topics.scores().name());
                KafkaProducer<byte[], byte[]> producer = broker.producer()) {
            Instance a = start(broker, "a");
            Instance b = start(broker, "b");
            ServiceProcess.awaitReady(a.port(), Duration.ofSeconds(90));
            ServiceProcess.awaitReady(b.port(), Duration.ofSeconds(90));
            long settled = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while ((ServiceProcess.readinessValue(a.port(), "kafka-partitions") < 1
                            || ServiceProcess.readinessValue(b.port(), "kafka-partitions") < 1)
                    && System.nanoTime() < settled) {
                Thread.sleep(200);
            }
            assertTrue(
                    ServiceProcess.readinessValue(a.port(), "kafka-partitions") >= 1, "both instances have partitions");
            probe(producer, scores, topics, "warm-up", System.nanoTime());

            long signalled = System.nanoTime();
            a.process().destroy();
            double sigterm = probe(producer, scores, topics, "after-sigterm", signalled);
            assertTrue(a.process().waitFor(30, TimeUnit.SECONDS), "SIGTERM ends the process");
            System.out.printf(
                    "[hand-over IT] SIGTERM: every partition served again %.1f s after the signal%n", sigterm);

            Instance c = start(broker, "c");
            ServiceProcess.awaitReady(c.port(), Duration.ofSeconds(90));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (ServiceProcess.readinessValue(c.port(), "kafka-partitions") < 1 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(
                    ServiceProcess.readinessValue(c.port(), "kafka-partitions") >= 1,
                    "the new instance has partitions");
            probe(producer, scores, topics, "rejoined", System.nanoTime());
            signalled = System.nanoTime();
            c.process().destroyForcibly();
            double sigkill = probe(producer, scores, topics, "after-sigkill", signalled);
            System.out.printf(
                    "[hand-over IT] SIGKILL: every partition served again %.1f s after the signal"
                            + " (the consumer session timeout has to expire first)%n",
                    sigkill);
            b.process().destroy();
            b.process().waitFor();

            Map<String, Integer> counts = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : scores.records()) {
                counts.merge(Classification.parseFrom(r.value()).getRequestId(), 1, Integer::sum);
            }
            for (String round : new String[] {"warm-up", "after-sigterm", "rejoined", "after-sigkill"}) {
                for (int p = 0; p < PARTITIONS; p++) {
                    assertEquals(1, counts.getOrDefault(round + "-" + p, 0), round + "-" + p + " scored exactly once");
                }
            }
            assertTrue(sigkill < 60, "the SIGKILL hand-over completes: " + sigkill + " s");
            // The point of leaving the group: no wait for the 10 s session timeout.
            assertTrue(sigterm < 8, "SIGTERM hands over without waiting for the session timeout: " + sigterm + " s");
        }
    }
}
