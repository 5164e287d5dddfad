package io.streamvision.cli;

import io.streamvision.kafka.RecordHeaders;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** The idempotent producer the submit commands use, and their record shape. */
final class Producers {

    private Producers() {}

    static KafkaProducer<byte[], byte[]> create(Properties client) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        // Up to the 16 MiB records the services' topics take, so an image over the services'
        // 15 MiB limit still arrives and is answered TOO_LARGE.
        p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(16 << 20));
        p.putIfAbsent(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** A record keyed by {@code id} with the {@code x-request-id} header. */
    static ProducerRecord<byte[], byte[]> record(String topic, String id, byte[] value) {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), value);
        RecordHeaders.put(r.headers(), RecordHeaders.REQUEST_ID, id);
        return r;
    }
}
