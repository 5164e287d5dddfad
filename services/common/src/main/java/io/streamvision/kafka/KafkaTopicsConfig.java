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

    /** Replication factor of topics created at start-up. */
    @WithDefault("1")
    short replicationFactor();

    /** The topic names with the configured suffix. */
    default Topics topics() {
        return new Topics(topicSuffix().orElse(""));
    }

    /** A dead-letter builder for the configured topic and cap. */
    default DeadLetters deadLetters() {
        return new DeadLetters(topics().deadLetters().name(), dlqPayloadCapBytes());
    }
}
