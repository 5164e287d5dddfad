package io.streamvision.kafka;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * One topic: its name (with the deployment's suffix), the protobuf message its records carry and
 * the format they are written in, so that topologies, the command line tool and tests read and
 * write a topic the same way.
 *
 * <p>Immutable and thread-safe.
 *
 * @param name the topic's name
 * @param prototype the default instance of the record values' message type
 * @param format how values are written; both formats are read
 */
public record Topic<V extends Message>(String name, V prototype, ValueFormat format) {

    private static final JsonFormat.Printer JSON_PRINTER =
            JsonFormat.printer().omittingInsignificantWhitespace().preservingProtoFieldNames();
    private static final JsonFormat.Parser JSON_PARSER = JsonFormat.parser().ignoringUnknownFields();

    /** A topic written as binary protobuf. */
    public Topic(String name, V prototype) {
        this(name, prototype, ValueFormat.PROTOBUF);
    }

    /**
     * The value of a record of this topic, binary or JSON ({@link ValueFormat#isJson}); an absent
     * value parses as the empty message.
     */
    @SuppressWarnings("unchecked")
    public V parse(byte[] value) throws InvalidProtocolBufferException {
        if (value != null && ValueFormat.isJson(value)) {
            Message.Builder builder = prototype.newBuilderForType();
            JSON_PARSER.merge(new String(value, StandardCharsets.UTF_8), builder);
            return (V) builder.build();
        }
        return (V) prototype.getParserForType().parseFrom(value == null ? new byte[0] : value);
    }

    /**
     * A value for this topic in its format. Takes any message, for processors whose outputs are
     * typed by the topic they go to; a message of another type is refused.
     */
    public byte[] encode(Message value) {
        if (!value.getDescriptorForType().equals(prototype.getDescriptorForType())) {
            throw new IllegalArgumentException(name + " carries " + type() + ", not "
                    + value.getDescriptorForType().getFullName());
        }
        if (format == ValueFormat.PROTOBUF) {
            return value.toByteArray();
        }
        try {
            return JSON_PRINTER.print(value).getBytes(StandardCharsets.UTF_8);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("cannot print a " + type() + " as JSON", e);
        }
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
