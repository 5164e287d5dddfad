package io.streamvision.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.errors.InvalidPidMappingException;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The transactional loop against a real broker when its transactions fail: a few times, always,
 * or with a producer that can only be replaced.
 */
@ExtendWith(KafkaBrokerExtension.class)
class TransactionalLoopTest {

    @Test
    void stopsAsFailedSayingWhyAfterTheBoundedNumberOfFailedCommits() throws Exception {
        TestBroker broker = TestBrokers.shared();
        String input = "loop-input" + TestBrokers.uniqueSuffix("commits");
        TopicProvisioner.ensure(broker.bootstrapServers(), Map.of(), List.of(input), 1, (short) 1);
        TestClients.send(
                broker.bootstrapServers(),
                List.of(new ProducerRecord<>(
                        input, "k".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8))));
        AtomicInteger handled = new AtomicInteger();
        TransactionalLoop.Settings settings = TransactionalLoop.Settings.builder("test", broker.bootstrapServers())
                .identity(input + "-group", input + "-tx")
                .topics(Pattern.compile(Pattern.quote(input)))
                .polls(10, Duration.ofMillis(100))
                .producer(Map.of("max.block.ms", 2000, "delivery.timeout.ms", 3000, "request.timeout.ms", 2000))
                .commits(3, Duration.ofMillis(20))
                .build();
        // Every output goes to a topic name the broker refuses, so every commit fails.
        TransactionalLoop loop = new TransactionalLoop(
                settings,
                (records, out) -> {
                    handled.incrementAndGet();
                    out.add(new ProducerRecord<>(
                            "not a valid topic name!", records.get(0).value()));
                },
                new DeadLetters(new Topics("").deadLetters(), 1024));
        loop.start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (loop.state() != TransactionalLoop.State.FAILED && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(TransactionalLoop.State.FAILED, loop.state(), "the loop gives up instead of retrying forever");
            assertEquals(3, handled.get(), "the batch was tried exactly maxCommitAttempts times");
            assertTrue(loop.failure().contains("3 transactions in a row failed"), loop.failure());
            assertEquals(0, loop.batches(), "nothing was committed");
            // What LoopsLiveness reports DOWN (the process test FencedInstanceProcessIT reads it over HTTP).
            assertTrue(TransactionalLoop.failedLoops().contains(loop), "a failed loop counts against liveness");
        } finally {
            loop.close();
        }
        assertTrue(!TransactionalLoop.failedLoops().contains(loop), "a closed loop no longer counts");
    }

    @Test
    void aFailedCommitWhileTheNextBatchIsHandledLosesAndRepeatsNothing() throws Exception {
        TestBroker broker = TestBrokers.shared();
        String suffix = TestBrokers.uniqueSuffix("pipelined");
        String first = "loop-a" + suffix;
        String second = "loop-b" + suffix;
        String output = "loop-output" + suffix;
        TopicProvisioner.ensure(broker.bootstrapServers(), Map.of(), List.of(first, second, output), 1, (short) 1);
        int records = 45;
        TestClients.send(broker.bootstrapServers(), records(first, "a-", records));
        AtomicInteger handled = new AtomicInteger();
        AtomicInteger failuresLeft = new AtomicInteger(1);
        TransactionalLoop.Settings settings = TransactionalLoop.Settings.builder("test", broker.bootstrapServers())
                .identity(first + "-group", first + "-tx")
                .topics(Pattern.compile(Pattern.quote(first) + "|" + Pattern.quote(second)))
                .polls(10, Duration.ofMillis(100))
                .consumer(Map.of("metadata.max.age.ms", 500))
                .producer(Map.of("max.block.ms", 2000, "delivery.timeout.ms", 3000, "request.timeout.ms", 2000))
                .commits(5, Duration.ofMillis(20))
                .build();
        // Every input is copied to the output topic. The batch holding a-44 (the last of the first
        // topic) writes records to the second topic and takes 2 s, so the loop polls those as the
        // next batch meanwhile; its commit then fails once, and both batches must be done again.
        TransactionalLoop loop = new TransactionalLoop(
                settings,
                (batch, out) -> {
                    for (var record : batch) {
                        handled.incrementAndGet();
                        out.add(new ProducerRecord<>(output, record.key(), record.value()));
                        if (new String(record.key(), StandardCharsets.UTF_8).equals("a-44")
                                && failuresLeft.getAndDecrement() > 0) {
                            TestClients.send(broker.bootstrapServers(), records(second, "b-", 5));
                            Thread.sleep(2000);
                            out.add(new ProducerRecord<>("not a valid topic name!", record.value()));
                        }
                    }
                },
                new DeadLetters(new Topics("").deadLetters(), 1024));
        loop.start();
        try {
            List<ConsumerRecord<byte[], byte[]>> copied = TestClients.read(
                    broker.bootstrapServers(), output, records + 5, Duration.ofSeconds(60), Duration.ofSeconds(2));
            Map<String, Integer> counts = new HashMap<>();
            copied.forEach(r -> counts.merge(new String(r.key(), StandardCharsets.UTF_8), 1, Integer::sum));
            assertEquals(records + 5, counts.size(), "every input of both topics has its output: " + counts.keySet());
            assertTrue(counts.values().stream().allMatch(n -> n == 1), "no output twice: " + counts);
            assertEquals(TransactionalLoop.State.RUNNING, loop.state());
            assertTrue(handled.get() > records + 5, "the failed batch was handled again: " + handled.get());
            assertEquals(records + 5, loop.recordsIn(), "each input committed once");
        } finally {
            loop.close();
        }
    }

    /**
     * Kafka's own partitioning, except that the record keyed {@code c-20} fails once with an error
     * that puts the producer in a fatal state, as a transaction lost while its coordinator moved does.
     */
    public static class FatalOnce implements Partitioner {
        static final AtomicBoolean ARMED = new AtomicBoolean();

        @Override
        public int partition(
                String topic, Object key, byte[] keyBytes, Object value, byte[] valueBytes, Cluster cluster) {
            if (keyBytes != null
                    && new String(keyBytes, StandardCharsets.UTF_8).equals("c-20")
                    && ARMED.compareAndSet(true, false)) {
                throw new InvalidPidMappingException("the coordinator no longer knows this producer");
            }
            int n = cluster.partitionsForTopic(topic).size();
            return keyBytes == null ? 0 : Utils.toPositive(Utils.murmur2(keyBytes)) % n;
        }

        @Override
        public void close() {}

        @Override
        public void configure(Map<String, ?> configs) {}
    }

    @Test
    void aProducerInAFatalStateIsReplacedAndNothingIsLostOrRepeated() throws Exception {
        TestBroker broker = TestBrokers.shared();
        String suffix = TestBrokers.uniqueSuffix("fatal");
        String input = "loop-c" + suffix;
        String output = "loop-c-output" + suffix;
        TopicProvisioner.ensure(broker.bootstrapServers(), Map.of(), List.of(input, output), 1, (short) 1);
        int records = 40;
        TestClients.send(broker.bootstrapServers(), records(input, "c-", records));
        FatalOnce.ARMED.set(true);
        TransactionalLoop.Settings settings = TransactionalLoop.Settings.builder("test", broker.bootstrapServers())
                .identity(input + "-group", input + "-tx")
                .topics(Pattern.compile(Pattern.quote(input)))
                .polls(10, Duration.ofMillis(100))
                .producer(Map.of(
                        "partitioner.class",
                        FatalOnce.class.getName(),
                        "max.block.ms",
                        2000,
                        "delivery.timeout.ms",
                        3000,
                        "request.timeout.ms",
                        2000))
                .commits(5, Duration.ofMillis(20))
                .build();
        TransactionalLoop loop = new TransactionalLoop(
                settings,
                (batch, out) -> batch.forEach(r -> out.add(new ProducerRecord<>(output, r.key(), r.value()))),
                new DeadLetters(new Topics("").deadLetters(), 1024));
        loop.start();
        try {
            List<ConsumerRecord<byte[], byte[]>> copied = TestClients.read(
                    broker.bootstrapServers(), output, records, Duration.ofSeconds(60), Duration.ofSeconds(2));
            Map<String, Integer> counts = new HashMap<>();
            copied.forEach(r -> counts.merge(new String(r.key(), StandardCharsets.UTF_8), 1, Integer::sum));
            assertTrue(!FatalOnce.ARMED.get(), "the producer met its fatal error");
            assertEquals(records, counts.size(), "every input has its output: " + counts.keySet());
            assertTrue(counts.values().stream().allMatch(n -> n == 1), "no output twice: " + counts);
            assertEquals(TransactionalLoop.State.RUNNING, loop.state(), String.valueOf(loop.failure()));
            assertEquals(1, loop.clientRestarts(), "the clients were started afresh once");
            assertEquals(records, loop.recordsIn(), "each input committed once");
        } finally {
            loop.close();
        }
    }

    private static List<ProducerRecord<byte[], byte[]>> records(String topic, String prefix, int n) {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] key = (prefix + i).getBytes(StandardCharsets.UTF_8);
            out.add(new ProducerRecord<>(topic, key, key));
        }
        return out;
    }
}
