package io.streamvision.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.common.utils.AppInfoParser;

/**
 * A single-node Apache Kafka broker in KRaft mode (combined broker and controller) running inside
 * the test JVM, built on Kafka's own cluster test kit. It listens on 127.0.0.1 on an ephemeral port
 * and keeps its logs in a temporary directory deleted on close.
 *
 * <p>Thread-safe once started.
 */
public final class InJvmKraftBroker implements TestBroker {

    /**
     * Broker settings for a one-node cluster that still supports transactions: those of the local
     * broker ({@code deploy/local/single-node-broker.properties}), with fewer partitions so that a
     * test's topics and the internal ones are quick to create.
     */
    static final Map<String, Object> SINGLE_NODE_SETTINGS = singleNodeSettings(Map.of(
            "num.partitions", "2",
            "offsets.topic.num.partitions", "4",
            "transaction.state.log.num.partitions", "4"));

    private static final ListenerName BROKER_LISTENER = new ListenerName("EXTERNAL");

    private final KafkaClusterTestKit cluster;
    private final Path dataDir;
    private boolean saslSsl;
    private boolean closed;

    private InJvmKraftBroker(KafkaClusterTestKit cluster, Path dataDir) {
        this.cluster = cluster;
        this.dataDir = dataDir;
    }

    /** Formats storage, starts the broker and waits until it accepts clients. */
    public static InJvmKraftBroker start() {
        return start(Map.of());
    }

    /**
     * A broker whose client listener is SASL_SSL with the server certificate of {@code pki}:
     * SCRAM-SHA-512 for clients (users made with the admin API) and PLAIN for the super user
     * {@code admin}, with Kafka's {@code StandardAuthorizer}, so a principal can do only what its
     * ACLs allow. The controller listener stays plain text inside the process.
     */
    public static InJvmKraftBroker startSaslSsl(TestPki pki, String adminPassword) {
        try {
            Path keyStore = Files.createTempFile("vision-kafka-keystore-", ".pem");
            Files.writeString(
                    keyStore, Files.readString(pki.server.keyFile()) + Files.readString(pki.server.certFile()));
            String listener = "listener.name." + BROKER_LISTENER.value().toLowerCase(Locale.ROOT) + ".";
            Map<String, Object> security = Map.ofEntries(
                    // The test kit itself offers PLAINTEXT or SASL_PLAINTEXT only; this map wins over its own.
                    Map.entry(
                            "listener.security.protocol.map",
                            BROKER_LISTENER.value() + ":SASL_SSL,CONTROLLER:PLAINTEXT"),
                    Map.entry("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512"),
                    Map.entry("sasl.mechanism.inter.broker.protocol", "PLAIN"),
                    Map.entry(
                            listener + "plain.sasl.jaas.config",
                            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\""
                                    + " password=\"" + adminPassword + "\" user_admin=\"" + adminPassword + "\";"),
                    Map.entry(
                            listener + "scram-sha-512.sasl.jaas.config",
                            "org.apache.kafka.common.security.scram.ScramLoginModule required;"),
                    Map.entry("ssl.keystore.type", "PEM"),
                    Map.entry("ssl.keystore.location", keyStore.toString()),
                    Map.entry("ssl.truststore.type", "PEM"),
                    Map.entry("ssl.truststore.location", pki.ca.certFile().toString()),
                    Map.entry("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
                    // The controller listener is plain text inside this process (principal ANONYMOUS).
                    Map.entry("super.users", "User:admin;User:ANONYMOUS"));
            InJvmKraftBroker broker = start(security);
            broker.saslSsl = true;
            return broker;
        } catch (Exception e) {
            throw new IllegalStateException("Could not start the SASL_SSL test broker: " + e.getMessage(), e);
        }
    }

    private static InJvmKraftBroker start(Map<String, Object> extra) {
        try {
            Path dataDir = Files.createTempDirectory("vision-kafka-");
            TestKitNodes nodes = new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .setBaseDirectory(dataDir)
                    .setBrokerListenerName(BROKER_LISTENER)
                    .build();
            KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes).setDeleteOnClose(true);
            SINGLE_NODE_SETTINGS.forEach(builder::setConfigProp);
            extra.forEach(builder::setConfigProp);
            KafkaClusterTestKit cluster = builder.build();
            cluster.format();
            cluster.startup();
            if (extra.isEmpty()) {
                cluster.waitForReadyBrokers();
            }
            return new InJvmKraftBroker(cluster, dataDir);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while starting the in-JVM Kafka broker", e);
        } catch (Exception e) {
            throw new IllegalStateException("Could not start the in-JVM Kafka broker: " + e.getMessage(), e);
        }
    }

    @Override
    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    @Override
    public String describe() {
        return "in-JVM Apache Kafka "
                + (saslSsl ? "(SASL_SSL) " : "")
                + AppInfoParser.getVersion()
                + " (KRaft, 1 node, data in "
                + dataDir
                + ") at "
                + bootstrapServers();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            cluster.close();
        } catch (Exception e) {
            throw new IllegalStateException("Could not stop the in-JVM Kafka broker", e);
        }
    }

    /** The shared settings file from the class path, with {@code overrides} applied. */
    private static Map<String, Object> singleNodeSettings(Map<String, String> overrides) {
        Properties p = new Properties();
        try (InputStream in = InJvmKraftBroker.class.getResourceAsStream("/single-node-broker.properties")) {
            if (in == null) {
                throw new IllegalStateException("single-node-broker.properties is not on the class path");
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        p.putAll(overrides);
        Map<String, Object> settings = new HashMap<>();
        p.forEach((key, value) -> settings.put((String) key, value));
        return Map.copyOf(settings);
    }
}
