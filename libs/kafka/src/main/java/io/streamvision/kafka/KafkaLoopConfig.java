package io.streamvision.kafka;

import io.smallrye.config.WithDefault;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Settings of a transactional Kafka loop, the same keys under every service's prefix ({@code
 * vision.scoring.kafka.*}, {@code vision.captioning.kafka.*}, {@code
 * vision.preprocess.video.kafka.*}). Each service's {@code application.properties} gives its own
 * group, transactional id, poll size and record size.
 */
public interface KafkaLoopConfig {

    /** Consumer group. */
    String groupId();

    /**
     * Transactional id; must be unique per live instance (a second process with the same id fences
     * the first). Unset, it is {@link #transactionalIdOrUnique()}'s. Exactly-once does not depend
     * on it surviving a restart: a dead instance's open transaction is aborted by the broker after
     * the transaction timeout, and its stale offset commits are refused by consumer-group
     * generation (KIP-447). A stable id (a StatefulSet pod name) only makes the abort happen at
     * once, when the new instance initialises its producer (docs/exactly-once.md).
     */
    Optional<String> transactionalId();

    /**
     * The configured transactional id, or else {@code <group-id>-<host>-<pid>} ({@link
     * InstanceId}): unique per process wherever the service runs, so instances started side by side
     * with default settings never fence each other.
     */
    default String transactionalIdOrUnique() {
        return transactionalId().filter(id -> !id.isBlank()).orElseGet(() -> groupId() + "-" + InstanceId.get());
    }

    /**
     * Records per poll; one poll is one transaction (and, where the service batches, one batch).
     */
    int maxPollRecords();

    /** Poll timeout in milliseconds. */
    @WithDefault("200")
    int pollTimeoutMs();

    /** Largest record the loop produces; a larger output becomes a TOO_LARGE dead letter. */
    int maxRequestBytes();

    /**
     * Consumer session timeout: a member that died without leaving is replaced after this, in
     * milliseconds.
     */
    @WithDefault("10000")
    int sessionTimeoutMs();

    /** Consumer heartbeat interval, in milliseconds (a third of the session or less). */
    @WithDefault("3000")
    int heartbeatIntervalMs();

    /**
     * Static group membership ({@code group.instance.id}); set only to a name that survives
     * restarts.
     */
    Optional<String> groupInstanceId();

    /**
     * The consumer's group membership: how soon a crashed member is replaced. With a {@link
     * #groupInstanceId()} (static membership), a restarted instance takes its partitions back at
     * once, without a rebalance; {@code memberSuffix} is appended to it so that several loops of
     * one instance stay distinct members.
     */
    default Map<String, Object> membership(String memberSuffix) {
        Map<String, Object> out = new HashMap<>();
        out.put("session.timeout.ms", sessionTimeoutMs());
        out.put("heartbeat.interval.ms", heartbeatIntervalMs());
        groupInstanceId().filter(id -> !id.isBlank()).ifPresent(id -> out.put("group.instance.id", id + memberSuffix));
        return out;
    }
}
