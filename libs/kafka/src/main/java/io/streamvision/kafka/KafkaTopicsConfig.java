package io.streamvision.kafka;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** Topic settings shared by every service ({@code vision.kafka.*}). */
@ConfigMapping(prefix = "vision.kafka")
public interface KafkaTopicsConfig {

    /** Appended to every topic name; lets installations or tests share a cluster. */
    Optional<String> topicSuffix();

    /** How much of a rejected input's payload a dead letter keeps, in bytes. */
    @WithDefault("1048576")
    int dlqPayloadCapBytes();

    /** Create missing topics at start-up. */
    @WithDefault("true")
    boolean createTopics();

    /** Partitions of topics created at start-up. */
    @WithDefault("3")
    int partitions();

    /**
     * Replication factor of topics created at start-up; {@code -1} (the default) takes the
     * cluster's {@code default.replication.factor}, as Kafka Streams does for its internal topics,
     * so one setting on the brokers governs every topic (3 on a production cluster and on {@code
     * kafka.sh start --brokers 3}, 1 on a single broker).
     */
    @WithDefault("-1")
    short replicationFactor();

    /**
     * {@code min.insync.replicas} of topics created at start-up; unset, the cluster's default
     * applies (2 on {@code kafka.sh start --brokers 3}). With replication 3 and 2 here, a write the
     * services commit is on two brokers before it counts, and one broker may be lost at any time.
     */
    Optional<Integer> minInsyncReplicas();

    /**
     * How scores, captions, results, video summaries and dead letters are written: {@code
     * protobuf} or {@code json} (protobuf's canonical JSON mapping). Every reader takes both.
     */
    @WithDefault("protobuf")
    String outputFormat();

    /** The topics with the configured suffix and output format. */
    default Topics topics() {
        return new Topics(topicSuffix().orElse(""), ValueFormat.parse(outputFormat()));
    }

    /** A dead-letter builder for the configured topic and cap. */
    default DeadLetters deadLetters() {
        return new DeadLetters(topics().deadLetters(), dlqPayloadCapBytes());
    }
}
