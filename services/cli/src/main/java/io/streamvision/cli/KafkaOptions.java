package io.streamvision.cli;

import io.streamvision.kafka.Topics;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Option;

/** Broker address, topic suffix and client settings (SASL/TLS) shared by the Kafka subcommands. */
public class KafkaOptions {

    @Option(
            names = {"-b", "--bootstrap-servers"},
            defaultValue = "${KAFKA_BOOTSTRAP_SERVERS:-localhost:9092}")
    String bootstrapServers;

    @Option(names = "--topic-suffix", defaultValue = "${VISION_KAFKA_TOPIC_SUFFIX:-}")
    String topicSuffix;

    @Option(names = "--kafka-timeout-ms", defaultValue = "10000")
    long timeoutMs;

    @Option(names = "--kafka-config", paramLabel = "FILE")
    Path configFile;

    @Option(
            names = {"-X", "--kafka-property"},
            paramLabel = "KEY=VALUE")
    Map<String, String> properties;

    public Topics topics() {
        return new Topics(topicSuffix);
    }

    /** Client properties: bootstrap servers, the config file, then -X properties. */
    public Properties client() {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        if (configFile != null) {
            try (Reader r = Files.newBufferedReader(configFile)) {
                p.load(r);
            } catch (IOException e) {
                throw new CliException(
                        ExitCodes.BAD_INPUT, "cannot read Kafka config " + configFile + ": " + e.getMessage());
            }
        }
        if (properties != null) {
            p.putAll(properties);
        }
        return p;
    }

    /**
     * Fails with {@link ExitCodes#UNREACHABLE} unless the cluster answers within {@code
     * --kafka-timeout-ms}.
     */
    public void checkReachable() {
        Properties p = client();
        p.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, (int) timeoutMs);
        p.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeoutMs);
        try (Admin admin = Admin.create(p)) {
            admin.describeCluster().clusterId().get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new CliException(
                    ExitCodes.UNREACHABLE,
                    "cannot reach Kafka at "
                            + bootstrapServers
                            + " within "
                            + timeoutMs
                            + " ms (is the broker running? deploy/local/kafka.sh start)");
        }
    }
}
