package io.streamvision.cli;

import io.streamvision.kafka.RecordHeaders;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** The idempotent producer the submit commands use, and their record shape. */
final class Producers {

    private static final SecureRandom RANDOM = new SecureRandom();

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
    /**
     * A record keyed by {@code id}, with {@code x-request-id} and a {@code traceparent} that starts
     * a new sampled W3C trace, so that each input is one trace through the services.
     */
    static ProducerRecord<byte[], byte[]> record(String topic, String id, byte[] value) {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), value);
        RecordHeaders.put(r.headers(), RecordHeaders.REQUEST_ID, id);
        byte[] trace = new byte[16];
        byte[] span = new byte[8];
        RANDOM.nextBytes(trace);
        RANDOM.nextBytes(span);
        RecordHeaders.put(
                r.headers(),
                RecordHeaders.TRACEPARENT,
                "00-" + HexFormat.of().formatHex(trace) + "-" + HexFormat.of().formatHex(span) + "-01");
        return r;
    }

    /** The trace id of a record's {@code traceparent}, or null. */
    static String traceId(ProducerRecord<?, ?> record) {
        return traceId(RecordHeaders.text(record.headers(), RecordHeaders.TRACEPARENT));
    }

    /** The trace id of a {@code traceparent} value, or null. */
    static String traceId(String traceparent) {
        String[] parts = traceparent == null ? new String[0] : traceparent.split("-");
        return parts.length == 4 ? parts[1] : null;
    }
}
