package io.streamvision.kafka;

import java.util.HashMap;
import java.util.Map;

/**
 * The connection settings (security protocol, SASL, TLS) out of the application's Kafka
 * configuration, for clients the services create themselves (transactional loops, topic set-up).
 * Quarkus collects every {@code kafka.*} key (environment variables {@code KAFKA_*} included) into
 * its {@code default-kafka-broker} map; only the keys that say how to connect are taken, so a
 * loop's own consumer and producer settings are never overridden.
 */
public final class KafkaConnection {

    private KafkaConnection() {}

    /**
     * The {@code security.protocol}, {@code sasl.*} and {@code ssl.*} entries of {@code
     * kafkaConfig}.
     */
    public static Map<String, Object> settings(Map<String, Object> kafkaConfig) {
        Map<String, Object> out = new HashMap<>();
        if (kafkaConfig != null) {
            kafkaConfig.forEach((key, value) -> {
                if (key.equals("security.protocol") || key.startsWith("sasl.") || key.startsWith("ssl.")) {
                    out.put(key, value);
                }
            });
        }
        return out;
    }
}
