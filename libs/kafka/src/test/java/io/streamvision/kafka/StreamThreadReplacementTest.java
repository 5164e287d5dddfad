package io.streamvision.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestClients;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A stream thread the cluster killed is replaced, a bounded number of times, and the records it
 * held are processed exactly once by its successor (an exactly-once application on a real broker);
 * a thread killed by anything else ends the application.
 */
@ExtendWith(KafkaBrokerExtension.class)
class StreamThreadReplacementTest {

    @Test
    void onlyKafkaErrorsUnderStreamsWrappersAreTheClusters() {
        InvalidTxnStateException txn = new InvalidTxnStateException("lost");
        assertEquals(txn, StreamThreadReplacement.clusterCause(new StreamsException("commit", txn)));
        assertEquals(txn, StreamThreadReplacement.clusterCause(new StreamsException(new StreamsException(txn))));
        assertNull(StreamThreadReplacement.clusterCause(new StreamsException(new IllegalStateException("a bug"))));
        assertNull(StreamThreadReplacement.clusterCause(new StreamsException("no cause")));
        assertNull(StreamThreadReplacement.clusterCause(new OutOfMemoryError()));
    }

    @Test
    void atMostFiveReplacementsInTenMinutes() {
        AtomicLong now = new AtomicLong();
        StreamThreadReplacement handler = new StreamThreadReplacement(now::get);
        StreamsException lost = new StreamsException(new TimeoutException("coordinator"));
        for (int i = 0; i < StreamThreadReplacement.MAX_REPLACEMENTS; i++) {
            assertEquals(StreamThreadExceptionResponse.REPLACE_THREAD, handler.handle(lost), "replacement " + i);
            now.addAndGet(Duration.ofMinutes(1).toNanos());
        }
        assertEquals(StreamThreadExceptionResponse.SHUTDOWN_CLIENT, handler.handle(lost), "the sixth in ten minutes");
        // Ten minutes after the first, one more is allowed again.
        now.set(StreamThreadReplacement.WINDOW.toNanos());
        assertEquals(StreamThreadExceptionResponse.REPLACE_THREAD, handler.handle(lost));
        assertEquals(
                StreamThreadExceptionResponse.SHUTDOWN_CLIENT,
                handler.handle(new StreamsException(new IllegalArgumentException("a processor's bug"))));
        assertEquals(StreamThreadReplacement.MAX_REPLACEMENTS + 1, handler.replacements());
    }

    @Test
    void aThreadTheClusterKilledIsReplacedAndItsRecordsCountOnce(TestBroker broker) throws Exception {
        String in = "thread-replacement-in";
        String out = "thread-replacement-out";
        TopicProvisioner.ensure(broker.bootstrapServers(), List.of(in, out), 2, (short) 1);
        AtomicBoolean thrown = new AtomicBoolean();
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(in, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
                .mapValues(v -> {
                    // Once, halfway: what a commit sees when the transaction coordinator was lost.
                    if (new String(v, StandardCharsets.UTF_8).equals("record-100")
                            && thrown.compareAndSet(false, true)) {
                        throw new InvalidTxnStateException("the coordinator lost the transaction");
                    }
                    return v;
                })
                .to(out, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "thread-replacement-app");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 50);
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        props.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/thread-replacement");
        // As the services run it: a closing consumer leaves the group, so the dead thread's
        // partitions move to its successor at once rather than after the session timeout.
        props.putAll(StreamsSupervisor.leaveGroupOnClose());
        StreamThreadReplacement handler = new StreamThreadReplacement();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        int n = 200;
        for (int i = 0; i < n; i++) {
            records.add(new ProducerRecord<>(
                    in, ("k" + i).getBytes(StandardCharsets.UTF_8), ("record-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        try (KafkaStreams streams = new KafkaStreams(builder.build(), props)) {
            streams.setUncaughtExceptionHandler(handler);
            streams.start();
            long start = System.nanoTime();
            TestClients.send(broker.bootstrapServers(), records.subList(0, n / 2));
            Thread.sleep(500);
            TestClients.send(broker.bootstrapServers(), records.subList(n / 2, n));
            List<ConsumerRecord<byte[], byte[]>> read =
                    TestClients.read(broker.bootstrapServers(), out, n, Duration.ofSeconds(90), Duration.ofSeconds(2));
            Map<String, Integer> counts = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : read) {
                counts.merge(new String(r.value(), StandardCharsets.UTF_8), 1, Integer::sum);
            }
            System.out.printf(
                    "[thread replacement] %d records out of %d, %d distinct, all read %.1f s after the first was"
                            + " sent; replacements %d; Kafka Streams %s%n",
                    read.size(),
                    n,
                    counts.size(),
                    (System.nanoTime() - start) / 1e9,
                    handler.replacements(),
                    streams.state());
            assertTrue(thrown.get(), "the thread was killed");
            assertEquals(1, handler.replacements());
            assertEquals(n, counts.size(), "every record");
            assertTrue(counts.values().stream().allMatch(c -> c == 1), "each once: " + counts);
            assertEquals(KafkaStreams.State.RUNNING, streams.state(), "the application goes on");
        }
    }
}
