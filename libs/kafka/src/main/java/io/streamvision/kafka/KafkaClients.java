package io.streamvision.kafka;

import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;
import org.apache.kafka.clients.CommonClientConfigs;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The Kafka clients a service creates itself (transactional loops, topic set-up, inline video
 * reads), all from the application's one Kafka configuration: the broker address from {@code
 * kafka.bootstrap.servers} and the security settings from the other {@code kafka.*} keys.
 * Application-scoped; thread-safe.
 */
@ApplicationScoped
public class KafkaClients {

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    /**
     * Every kafka.* setting (Quarkus' default-kafka-broker map); only the security ones are taken.
     */
    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafkaConfig;

    @Inject
    KafkaTopicsConfig topicsConfig;

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** How to connect: {@code security.protocol}, {@code sasl.*} and {@code ssl.*}. */
    public Map<String, Object> connection() {
        return KafkaConnection.settings(kafkaConfig);
    }

    /** Settings for a client of one's own: the bootstrap servers and {@link #connection()}. */
    public Properties clientProperties() {
        Properties props = new Properties();
        props.putAll(connection());
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return props;
    }

    /** The topic names with the configured suffix. */
    public Topics topics() {
        return topicsConfig.topics();
    }

    public DeadLetters deadLetters() {
        return topicsConfig.deadLetters();
    }

    /**
     * Creates the missing topics among {@code names} with the configured partitions, when topic
     * creation is on.
     */
    public void ensureTopics(List<String> names) {
        ensureTopics(names, topicsConfig.partitions());
    }

    /**
     * Creates the missing topics among {@code names} with at least {@code partitions}, when topic
     * creation is on.
     */
    public void ensureTopics(List<String> names, int partitions) {
        if (topicsConfig.createTopics()) {
            TopicProvisioner.ensure(
                    bootstrapServers,
                    connection(),
                    names,
                    Math.max(partitions, topicsConfig.partitions()),
                    topicsConfig.replicationFactor(),
                    topicsConfig.minInsyncReplicas());
        }
    }

    /** Consumer settings of a loop: the connection and its group membership. */
    public Map<String, Object> consumer(KafkaLoopConfig loop, String memberSuffix) {
        Map<String, Object> out = new HashMap<>(connection());
        out.putAll(loop.membership(memberSuffix));
        return out;
    }

    /** The settings of a loop named {@code name} that reads {@code topics} as {@code loop} says. */
    private TransactionalLoop.Settings loopSettings(
            String name, KafkaLoopConfig loop, Pattern topics, int maxPollRecords, Map<String, Object> fetch) {
        Map<String, Object> consumer = consumer(loop, "");
        consumer.putAll(fetch);
        return TransactionalLoop.Settings.builder(name, bootstrapServers)
                .identity(loop.groupId(), loop.transactionalIdOrUnique())
                .topics(topics)
                .polls(maxPollRecords, Duration.ofMillis(loop.pollTimeoutMs()))
                .maxRequestBytes(loop.maxRequestBytes())
                .consumer(consumer)
                .producer(connection())
                .build();
    }

    /**
     * A loop (not yet started) that reads {@code topics} and hands each poll to {@code handler}.
     */
    public TransactionalLoop loop(
            String name, KafkaLoopConfig loop, Pattern topics, TransactionalLoop.BatchHandler handler) {
        return loop(name, loop, topics, handler, loop.maxPollRecords(), Map.of());
    }

    /**
     * A loop whose poll size the service chose (the scoring service sizes it from its models'
     * batching), with extra consumer fetch settings to match.
     */
    public TransactionalLoop loop(
            String name,
            KafkaLoopConfig loop,
            Pattern topics,
            TransactionalLoop.BatchHandler handler,
            int maxPollRecords,
            Map<String, Object> fetch) {
        return new TransactionalLoop(loopSettings(name, loop, topics, maxPollRecords, fetch), handler, deadLetters());
    }
}
