package io.streamvision.testing;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one broker a test JVM shares: started on first use, stopped when the JVM exits. {@code
 * -Dvision.test.broker=in-jvm} (default) gives {@link InJvmKraftBroker}; {@code
 * -Dvision.test.broker=testcontainers} gives {@link ContainerKafkaBroker}.
 *
 * <p>Thread-safe.
 */
public final class TestBrokers {

    /** System property that selects the broker kind. */
    public static final String KIND_PROPERTY = "vision.test.broker";

    /**
     * System property under which the running broker's address is published, so that every class
     * loader in the JVM (Quarkus loads test resources in its own) finds the same broker.
     */
    public static final String ADDRESS_PROPERTY = "vision.test.broker.bootstrap-servers";

    private static final AtomicInteger SUFFIXES = new AtomicInteger();
    private static TestBroker shared;

    private TestBrokers() {}

    /** The bootstrap address of the JVM-wide broker, starting it when needed. */
    public static synchronized String bootstrapServers() {
        String published = System.getProperty(ADDRESS_PROPERTY);
        if (published != null) {
            return published;
        }
        return shared().bootstrapServers();
    }

    /** The JVM-wide broker, started when first asked for. */
    public static synchronized TestBroker shared() {
        if (shared == null) {
            long started = System.nanoTime();
            TestBroker broker = startNew();
            System.setProperty(ADDRESS_PROPERTY, broker.bootstrapServers());
            Runtime.getRuntime().addShutdownHook(new Thread(broker::close, "test-kafka-broker-stop"));
            System.out.printf(
                    "[test broker] %s, started in %d ms%n",
                    broker.describe(), (System.nanoTime() - started) / 1_000_000);
            shared = broker;
        }
        return shared;
    }

    /** Starts a new broker of the configured kind; the caller closes it. */
    public static TestBroker startNew() {
        String kind = System.getProperty(KIND_PROPERTY, "in-jvm").trim().toLowerCase(Locale.ROOT);
        return switch (kind) {
            case "in-jvm", "" -> InJvmKraftBroker.start();
            case "testcontainers" -> ContainerKafkaBroker.start();
            default ->
                throw new IllegalArgumentException(
                        KIND_PROPERTY + "=" + kind + " is not a broker kind; use in-jvm or testcontainers");
        };
    }

    /** A suffix unique within this JVM run, for topic names and application ids. */
    public static String uniqueSuffix(String prefix) {
        return "." + prefix + "-" + ProcessHandle.current().pid() + "-" + SUFFIXES.incrementAndGet();
    }
}
