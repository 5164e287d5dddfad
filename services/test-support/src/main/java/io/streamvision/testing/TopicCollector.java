package io.streamvision.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a topic {@code read_committed} (or, made by {@link #uncommitted}, {@code
 * read_uncommitted}) from its beginning on a background thread, without a
 * consumer group (partitions are assigned directly and re-checked as they appear), so tests can
 * watch outputs arrive without group-join delays. Thread-safe.
 */
public final class TopicCollector implements AutoCloseable {

    /** A record and when this collector read it (epoch milliseconds). */
    public record Arrival(ConsumerRecord<byte[], byte[]> record, long atMillis) {}

    private final List<Arrival> arrivals = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;

    public TopicCollector(String bootstrapServers, String topic) {
        this(bootstrapServers, topic, Map.of());
    }

    /** The same through a secured listener: {@code connection} holds the security settings. */
    public TopicCollector(String bootstrapServers, String topic, Map<String, String> connection) {
        this(bootstrapServers, topic, connection, "read_committed");
    }

    /**
     * A collector that also sees records of aborted and open transactions ({@code
     * read_uncommitted}): beside a committed one, the difference is the work a fault made a
     * service redo.
     */
    public static TopicCollector uncommitted(String bootstrapServers, String topic) {
        return new TopicCollector(bootstrapServers, topic, Map.of(), "read_uncommitted");
    }

    private TopicCollector(String bootstrapServers, String topic, Map<String, String> connection, String isolation) {
        Properties props = new Properties();
        props.putAll(connection);
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        thread = new Thread(
                () -> {
                    try (KafkaConsumer<byte[], byte[]> consumer =
                            new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                        List<TopicPartition> assigned = new ArrayList<>();
                        long lastCheck = 0;
                        while (running) {
                            if (System.nanoTime() - lastCheck > 500_000_000L) {
                                lastCheck = System.nanoTime();
                                List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(5));
                                if (partitions != null && partitions.size() > assigned.size()) {
                                    List<TopicPartition> all = partitions.stream()
                                            .map(p -> new TopicPartition(topic, p.partition()))
                                            .toList();
                                    List<TopicPartition> fresh = all.stream()
                                            .filter(p -> !assigned.contains(p))
                                            .toList();
                                    assigned.clear();
                                    assigned.addAll(all);
                                    consumer.assign(all);
                                    consumer.seekToBeginning(fresh);
                                }
                            }
                            if (assigned.isEmpty()) {
                                Thread.sleep(100);
                                continue;
                            }
                            long now = System.currentTimeMillis();
                            consumer.poll(Duration.ofMillis(100)).forEach(r -> arrivals.add(new Arrival(r, now)));
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "collector-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    /** Records read so far, in arrival order. */
    public List<ConsumerRecord<byte[], byte[]>> records() {
        return arrivals.stream().map(Arrival::record).toList();
    }

    /** Records read so far with the time each was read, in arrival order. */
    public List<Arrival> arrivals() {
        return List.copyOf(arrivals);
    }

    /**
     * Waits until at least {@code count} records arrived or the timeout passed; returns the count.
     */
    public int awaitAtLeast(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (arrivals.size() < count && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        return arrivals.size();
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
