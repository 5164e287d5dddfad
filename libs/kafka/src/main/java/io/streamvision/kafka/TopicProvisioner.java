package io.streamvision.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logging.Logger;

/**
 * Creates the topics a service reads and writes when they are missing, with the configured
 * partition count and replication factor, so that a fresh cluster works without a separate set-up
 * step. Topics are created with {@code max.message.bytes} = {@value #MAX_MESSAGE_BYTES}, so records
 * of that size (large images, frame tensors) are accepted even by a broker that keeps Kafka's 1 MiB
 * default. Existing topics are left as they are. Thread-safe (stateless).
 */
public final class TopicProvisioner {

    /** Largest record every topic the services create accepts: 16 MiB. */
    public static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

    private static final Logger LOG = Logger.getLogger(TopicProvisioner.class);

    private TopicProvisioner() {}

    /** Creates the missing topics among {@code names}; waits up to 60 s for the broker. */
    public static void ensure(String bootstrapServers, Collection<String> names, int partitions, short replication) {
        ensure(bootstrapServers, Map.of(), names, partitions, replication);
    }

    /**
     * As {@link #ensure(String, Collection, int, short)}, connecting with {@code connection}
     * (security protocol, SASL, TLS; see {@link KafkaConnection}).
     */
    public static void ensure(
            String bootstrapServers,
            Map<String, Object> connection,
            Collection<String> names,
            int partitions,
            short replication) {
        ensure(bootstrapServers, connection, names, partitions, replication, Optional.empty());
    }

    /**
     * As above, with a replication factor of {@code -1} meaning the cluster's {@code
     * default.replication.factor}, and {@code min.insync.replicas} set on the new topics when given.
     */
    public static void ensure(
            String bootstrapServers,
            Map<String, Object> connection,
            Collection<String> names,
            int partitions,
            short replication,
            Optional<Integer> minInsyncReplicas) {
        Map<String, Object> config = new HashMap<>(connection);
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000);
        try (Admin admin = Admin.create(config)) {
            Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (String name : names) {
                if (!existing.contains(name)) {
                    Map<String, String> configs = new HashMap<>();
                    configs.put("max.message.bytes", String.valueOf(MAX_MESSAGE_BYTES));
                    minInsyncReplicas.ifPresent(isr -> configs.put("min.insync.replicas", String.valueOf(isr)));
                    missing.add(new NewTopic(
                                    name,
                                    Optional.of(partitions),
                                    replication < 0 ? Optional.empty() : Optional.of(replication))
                            .configs(configs));
                }
            }
            if (missing.isEmpty()) {
                return;
            }
            for (var entry : admin.createTopics(missing).values().entrySet()) {
                try {
                    entry.getValue().get(60, TimeUnit.SECONDS);
                    LOG.infof(
                            "Created topic %s (%d partitions, replication %s)",
                            entry.getKey(), partitions, replication < 0 ? "as the cluster's default" : replication);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics", e);
        } catch (Exception e) {
            throw new IllegalStateException(
                    "Could not create topics " + names + " at " + bootstrapServers + ": " + e.getMessage(), e);
        }
    }
}
