package io.streamvision.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Readiness of several loops of one instance, reported as one, against a real broker. */
@ExtendWith(KafkaBrokerExtension.class)
class LoopReadinessTest {

    @Test
    void loopsOfOneGroupAreSummedAndAFailedOneMakesThemFailed() throws Exception {
        TestBroker broker = TestBrokers.shared();
        String suffix = TestBrokers.uniqueSuffix("readiness");
        String input = "readiness-input" + suffix;
        String output = "readiness-output" + suffix;
        TopicProvisioner.ensure(broker.bootstrapServers(), Map.of(), List.of(input, output), 4, (short) 1);
        int records = 40;
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        for (int i = 0; i < records; i++) {
            byte[] key = ("k-" + i).getBytes(StandardCharsets.UTF_8);
            sent.add(new ProducerRecord<>(input, i % 4, key, key));
        }
        List<TransactionalLoop> loops = new ArrayList<>();
        try {
            // Two members of one group copy the input; each is given two of its four partitions.
            for (int i = 1; i <= 2; i++) {
                loops.add(loop(broker, input, input + "-group", input + "-tx-" + i, output));
            }
            loops.forEach(TransactionalLoop::start);
            awaitPartitions(loops, 4);
            TestClients.send(broker.bootstrapServers(), sent);
            TestClients.read(broker.bootstrapServers(), output, records, Duration.ofSeconds(60), Duration.ofSeconds(1));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (loops.stream().mapToLong(TransactionalLoop::recordsIn).sum() < records
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }

            Data running = new Data();
            assertTrue(LoopReadiness.report(loops, "copy", running), "both loops run");
            assertEquals("RUNNING", running.data.get("copy"));
            assertEquals(2L, running.data.get("copy-loops"));
            assertEquals(4L, running.data.get("copy-partitions"), "the group's partitions, summed");
            assertEquals((long) records, running.data.get("copy-records-in"));
            assertEquals((long) records, running.data.get("copy-records-out"));
            String[] each = ((String) running.data.get("copy-transactions-each")).split(",");
            assertEquals(2, each.length);
            assertEquals(
                    running.data.get("copy-transactions"),
                    Long.parseLong(each[0]) + Long.parseLong(each[1]),
                    "the total is the sum of each loop's transactions");
            assertTrue(
                    Long.parseLong(each[0]) > 0 && Long.parseLong(each[1]) > 0,
                    "both committed: " + each[0] + "," + each[1]);
            assertEquals("", running.data.get("copy-failure"));

            // A third loop whose every commit fails: the loops together are FAILED, saying why.
            String failing = "readiness-failing" + suffix;
            TopicProvisioner.ensure(broker.bootstrapServers(), Map.of(), List.of(failing), 1, (short) 1);
            TransactionalLoop broken =
                    loop(broker, failing, failing + "-group", failing + "-tx", "not a valid topic name!");
            loops.add(broken);
            broken.start();
            TestClients.send(
                    broker.bootstrapServers(), List.of(new ProducerRecord<>(failing, new byte[] {1}, new byte[] {1})));
            deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (broken.state() != TransactionalLoop.State.FAILED && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            Data failed = new Data();
            assertFalse(LoopReadiness.report(loops, "copy", failed), "one failed loop keeps the instance unready");
            assertEquals("FAILED", failed.data.get("copy"));
            assertTrue(((String) failed.data.get("copy-failure")).contains("transactions in a row failed"), (String)
                    failed.data.get("copy-failure"));
            assertEquals(3L, failed.data.get("copy-loops"));
        } finally {
            loops.forEach(TransactionalLoop::close);
        }

        Data none = new Data();
        assertTrue(LoopReadiness.report(List.of(), "copy", none), "no loops: nothing to wait for");
        assertEquals("DISABLED", none.data.get("copy"));
    }

    private static TransactionalLoop loop(TestBroker broker, String input, String group, String txId, String output) {
        TransactionalLoop.Settings settings = TransactionalLoop.Settings.builder("readiness", broker.bootstrapServers())
                .identity(group, txId)
                .topics(Pattern.compile(Pattern.quote(input)))
                .polls(5, Duration.ofMillis(100))
                .producer(Map.of("max.block.ms", 2000, "delivery.timeout.ms", 3000, "request.timeout.ms", 2000))
                .commits(2, Duration.ofMillis(20))
                .build();
        return new TransactionalLoop(
                settings,
                (batch, out) -> batch.forEach(r -> out.add(new ProducerRecord<>(output, r.key(), r.value()))),
                new DeadLetters(new Topics("").deadLetters(), 1024));
    }

    private static void awaitPartitions(List<TransactionalLoop> loops, int partitions) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (loops.stream().allMatch(l -> l.partitions() > 0)
                    && loops.stream().mapToInt(TransactionalLoop::partitions).sum() == partitions) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the loops did not share the " + partitions + " partitions within 60 s");
    }

    /** Keeps what a health check reports. */
    private static final class Data extends HealthCheckResponseBuilder {
        final Map<String, Object> data = new HashMap<>();

        @Override
        public HealthCheckResponseBuilder name(String name) {
            return this;
        }

        @Override
        public HealthCheckResponseBuilder withData(String key, String value) {
            data.put(key, value);
            return this;
        }

        @Override
        public HealthCheckResponseBuilder withData(String key, long value) {
            data.put(key, value);
            return this;
        }

        @Override
        public HealthCheckResponseBuilder withData(String key, boolean value) {
            data.put(key, value);
            return this;
        }

        @Override
        public HealthCheckResponseBuilder up() {
            return this;
        }

        @Override
        public HealthCheckResponseBuilder down() {
            return this;
        }

        @Override
        public HealthCheckResponseBuilder status(boolean up) {
            return this;
        }

        @Override
        public HealthCheckResponse build() {
            throw new UnsupportedOperationException("only the data is read");
        }
    }
}
