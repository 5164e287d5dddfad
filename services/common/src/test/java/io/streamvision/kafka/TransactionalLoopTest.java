package io.streamvision.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The transactional loop against a real broker when its transactions keep failing. */
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
        TransactionalLoop.Settings settings = new TransactionalLoop.Settings(
                "test",
                broker.bootstrapServers(),
                input + "-group",
                input + "-tx",
                Pattern.compile(Pattern.quote(input)),
                10,
                Duration.ofMillis(100),
                1 << 20,
                Map.of(),
                Map.of("max.block.ms", 2000, "delivery.timeout.ms", 3000, "request.timeout.ms", 2000),
                3,
                Duration.ofMillis(20));
        // Every output goes to a topic name the broker refuses, so every commit fails.
        TransactionalLoop loop = new TransactionalLoop(
                settings,
                (records, out) -> {
                    handled.incrementAndGet();
                    out.add(new ProducerRecord<>(
                            "not a valid topic name!", records.get(0).value()));
                },
                new DeadLetters("dlq-unused", 1024));
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
        } finally {
            loop.close();
        }
    }
}
