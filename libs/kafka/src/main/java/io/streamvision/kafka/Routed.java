package io.streamvision.kafka;

import com.google.protobuf.Message;
import io.streamvision.proto.vision.v1.DeadLetter;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;

/**
 * One output of a Kafka Streams processor, already in its topic's wire format, with the topic it
 * goes to: an output topic or the dead-letter topic. The services' processors emit these and {@link
 * #sink} writes them, each to its own topic, through one sink node: results and dead letters of an
 * input leave in the same transaction, and there is one way to route them.
 *
 * @param topic the topic the record goes to
 * @param value the serialised value, in that topic's format
 * @param deadLetter true for a dead letter
 */
public record Routed(String topic, byte[] value, boolean deadLetter) {

    /** Writes a routed value's bytes; routed values are never read back. */
    private static final Serde<Routed> VALUE =
            Serdes.serdeFrom((Serializer<Routed>) (topic, routed) -> routed.value(), (topic, data) -> {
                throw new UnsupportedOperationException("routed values are write-only");
            });

    /** {@code message} for {@code topic}, in the topic's format. */
    public static Routed to(Topic<?> topic, Message message) {
        return new Routed(topic.name(), topic.encode(message), false);
    }

    /** A value already serialised for {@code topic} (tensors, video events). */
    public static Routed to(String topic, byte[] value) {
        return new Routed(topic, value, false);
    }

    /** A dead letter for the service's dead-letter topic. */
    public static Routed deadLetter(DeadLetters deadLetters, DeadLetter letter) {
        return new Routed(deadLetters.topic(), deadLetters.encode(letter), true);
    }

    /** Sends every record of {@code stream} to its value's topic, through one sink named {@code name}. */
    public static <K> void sink(KStream<K, Routed> stream, Serde<K> keys, String name) {
        stream.to(
                (key, value, context) -> value.topic(),
                Produced.with(keys, VALUE).withName(name));
    }
}
