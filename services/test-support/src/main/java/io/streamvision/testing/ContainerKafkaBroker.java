package io.streamvision.testing;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Apache Kafka in a Docker container through Testcontainers, for machines with a Docker engine.
 * Selected with {@code -Dvision.test.broker=testcontainers}; the image can be changed with {@code
 * -Dvision.test.kafka-image}.
 *
 * <p>Thread-safe once started.
 */
public final class ContainerKafkaBroker implements TestBroker {

    /** Image used unless {@code vision.test.kafka-image} says otherwise. */
    public static final String DEFAULT_IMAGE = "apache/kafka:4.1.2";

    private final KafkaContainer container;

    private ContainerKafkaBroker(KafkaContainer container) {
        this.container = container;
    }

    /** Starts the container; fails with a clear message when no Docker engine is reachable. */
    public static ContainerKafkaBroker start() {
        if (!DockerClientFactory.instance().isDockerAvailable()) {
            throw new IllegalStateException("vision.test.broker=testcontainers was asked for, but no Docker engine"
                    + " is reachable. Start Docker, or use the default in-JVM broker (-Dvision.test.broker=in-jvm).");
        }
        String image = System.getProperty("vision.test.kafka-image", DEFAULT_IMAGE);
        KafkaContainer container =
                new KafkaContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("apache/kafka"));
        InJvmKraftBroker.SINGLE_NODE_SETTINGS.forEach((key, value) ->
                container.withEnv("KAFKA_" + key.toUpperCase().replace('.', '_'), String.valueOf(value)));
        container.start();
        return new ContainerKafkaBroker(container);
    }

    @Override
    public String bootstrapServers() {
        return container.getBootstrapServers();
    }

    @Override
    public String describe() {
        return "Testcontainers " + container.getDockerImageName() + " at " + bootstrapServers();
    }

    @Override
    public void close() {
        container.stop();
    }
}
