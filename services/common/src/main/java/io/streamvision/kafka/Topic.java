package io.streamvision.kafka;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * One topic: its name (with the deployment's suffix) and the protobuf message its records carry, so
 * that topologies, the command line tool and tests read a topic the same way.
 *
 * <p>Immutable and thread-safe.
 *
 * @param name the topic's name
 * @param prototype the default instance of the record values' message type
 */
public record Topic<V extends Message>(String name, V prototype) {

    /** The value of a record of this topic; an absent value parses as the empty message. */
    @SuppressWarnings("unchecked")
    public V parse(byte[] value) throws InvalidProtocolBufferException {
        return (V) prototype.getParserForType().parseFrom(value == null ? new byte[0] : value);
    }

    /**
     * The value of a consumed record, for callers to whom an unreadable record is a bug (tests,
     * tools); unchecked.
     */
    public V valueOf(ConsumerRecord<?, byte[]> record) {
        try {
            return parse(record.value());
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(
                    "a record of "
                            + name
                            + " at offset "
                            + record.offset()
                            + " is not a "
                            + type()
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** The full protobuf name of the record values, e.g. {@code vision.v1.Classification}. */
    public String type() {
        return prototype.getDescriptorForType().getFullName();
    }

    @Override
    public String toString() {
        return name;
    }
}
