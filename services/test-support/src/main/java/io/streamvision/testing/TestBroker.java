package io.streamvision.testing;

import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * A real Kafka broker that tests talk to over a socket.
 *
 * <p>Implementations are thread-safe once started.
 */
public interface TestBroker extends AutoCloseable {

    /** The {@code bootstrap.servers} value clients use. */
    String bootstrapServers();

    /** Collects every record written to {@code topic} from now on; the caller closes it. */
    default TopicCollector collect(String topic) {
        return new TopicCollector(bootstrapServers(), topic);
    }

    /** A byte-array producer ({@link TestClients#producer(String)}); the caller closes it. */
    default KafkaProducer<byte[], byte[]> producer() {
        return TestClients.producer(bootstrapServers());
    }

    /** What kind of broker this is and where it listens, for logs. */
    String describe();

    /** Stops the broker and removes its data. */
    @Override
    void close();
}
