package io.streamvision.testing;

/**
 * A real Kafka broker that tests talk to over a socket.
 *
 * <p>Implementations are thread-safe once started.
 */
public interface TestBroker extends AutoCloseable {

    /** The {@code bootstrap.servers} value clients use. */
    String bootstrapServers();

    /** What kind of broker this is and where it listens, for logs. */
    String describe();

    /** Stops the broker and removes its data. */
    @Override
    void close();
}
