package io.streamvision.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * Quarkus test resource that points the application at the JVM-wide real Kafka broker by setting
 * {@code kafka.bootstrap.servers}. The broker outlives each application start and is stopped when
 * the JVM exits.
 *
 * <pre>{@code @QuarkusTestResource(KafkaBrokerTestResource.class)}</pre>
 */
public final class KafkaBrokerTestResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        return Map.of("kafka.bootstrap.servers", TestBrokers.bootstrapServers());
    }

    @Override
    public void stop() {
        // The broker is shared by every test class in the JVM; TestBrokers stops it at exit.
    }
}
