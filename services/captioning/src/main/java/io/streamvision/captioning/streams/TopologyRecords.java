package io.streamvision.captioning.streams;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Routed;
import io.streamvision.kafka.Topic;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/** What the captioning topologies' processors take in and send out. */
final class TopologyRecords {

    private TopologyRecords() {}

    /**
     * A record value as it arrived, with the topic that says its type: the input of a processor
     * that reads several topics merged into one stream.
     */
    record Part(Topic<?> topic, byte[] value) {

        /** {@code stream}'s values as parts of {@code topic}. */
        static KStream<byte[], Part> of(KStream<byte[], byte[]> stream, Topic<?> topic, String name) {
            return stream.mapValues(v -> new Part(topic, v), Named.as(name));
        }

        /** {@code topic} read as bytes (source {@code sourceName}) and its values as parts. */
        static KStream<byte[], Part> read(StreamsBuilder builder, Topic<?> topic, String sourceName, String name) {
            return of(
                    builder.stream(
                            topic.name(),
                            Consumed.with(Serdes.ByteArray(), Serdes.ByteArray())
                                    .withName(sourceName)),
                    topic,
                    name);
        }

        /** The value as the topic's message; an absent value is refused. */
        Message parse() throws InvalidProtocolBufferException {
            if (value == null) {
                throw new InvalidProtocolBufferException("the record has no value");
            }
            return topic.parse(value);
        }
    }

    /**
     * The dead letter of a processor's input record, keyed like it (as text), with its propagated
     * headers and the dead-letter reason and stage, for the sink to write.
     */
    static Record<String, Routed> deadLetter(
            ProcessorContext<String, Routed> context,
            DeadLetters deadLetters,
            Record<byte[], Part> record,
            String stage,
            ReasonCode reason,
            String message) {
        RecordMetadata meta = context.recordMetadata().orElseThrow();
        DeadLetter letter = deadLetters.describe(
                stage,
                reason,
                message,
                new DeadLetters.Source(
                        meta.topic(),
                        meta.partition(),
                        meta.offset(),
                        record.key(),
                        record.headers(),
                        record.value().value()));
        Headers headers = new RecordHeaders();
        deadLetters.addHeaders(letter, record.headers(), headers);
        return new Record<>(keyText(record.key()), Routed.deadLetter(deadLetters, letter), record.timestamp(), headers);
    }

    /** A record key as text; an absent key is the empty string. */
    static String keyText(byte[] key) {
        return key == null ? "" : new String(key, StandardCharsets.UTF_8);
    }
}
