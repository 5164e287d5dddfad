package io.streamvision.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads topics {@code read_committed} without a consumer group (every partition assigned directly),
 * from the beginning or from the current end, so watching results never disturbs the services'
 * groups or commits offsets. Not thread-safe: one command thread polls it.
 */
final class TopicReader implements AutoCloseable {

    private final KafkaConsumer<byte[], byte[]> consumer;

    TopicReader(Properties client, List<String> topics, boolean fromBeginning) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> all = new ArrayList<>();
        for (String topic : topics) {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10));
            if (partitions == null || partitions.isEmpty()) {
                consumer.close();
                throw new CliException(
                        ExitCodes.BAD_INPUT,
                        "topic "
                                + topic
                                + " does not exist (are the services "
                                + "running against this broker, with the same --topic-suffix?)");
            }
            partitions.forEach(info -> all.add(new TopicPartition(topic, info.partition())));
        }
        consumer.assign(all);
        if (fromBeginning) {
            consumer.seekToBeginning(all);
        } else {
            consumer.seekToEnd(all);
            all.forEach(consumer::position); // fix the start now, before anything is produced
        }
    }

    List<ConsumerRecord<byte[], byte[]>> poll(Duration timeout) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        consumer.poll(timeout).forEach(out::add);
        return out;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(2));
    }
}
