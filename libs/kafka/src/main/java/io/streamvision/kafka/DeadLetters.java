package io.streamvision.kafka;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Builds dead-letter records: one {@link DeadLetter} per rejected input, keyed like the input, with
 * the input's headers kept and the reason repeated in headers for cheap filtering.
 *
 * <p>Immutable and thread-safe.
 */
public final class DeadLetters {

    private final Topic<DeadLetter> topic;
    private final int payloadCapBytes;

    /**
     * @param topic dead-letter topic, with the format its records are written in
     * @param payloadCapBytes how much of the original payload to keep
     */
    public DeadLetters(Topic<DeadLetter> topic, int payloadCapBytes) {
        this.topic = topic;
        this.payloadCapBytes = payloadCapBytes;
    }

    /** The dead-letter topic's name. */
    public String topic() {
        return topic.name();
    }

    /** A dead letter as a record value of the dead-letter topic. */
    public byte[] encode(DeadLetter letter) {
        return topic.encode(letter);
    }

    /**
     * The record a dead letter is about: where it was read (partition and offset -1 for a record
     * that was never written, such as an output too large to produce), its key, headers and bytes.
     */
    public record Source(String topic, int partition, long offset, byte[] key, Headers headers, byte[] payload) {

        /** A consumed record. */
        public static Source of(ConsumerRecord<byte[], byte[]> record) {
            return new Source(
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    record.key(),
                    record.headers(),
                    record.value());
        }

        /** An output that was never written: it has a topic but no partition or offset. */
        public static Source unwritten(ProducerRecord<byte[], byte[]> record) {
            return new Source(record.topic(), -1, -1, record.key(), record.headers(), record.value());
        }
    }

    /** Describes a rejected input record. */
    public DeadLetter describe(String stage, ReasonCode reason, String message, Source source) {
        String sourceTopic = source.topic();
        int partition = source.partition();
        long offset = source.offset();
        byte[] key = source.key();
        Headers headers = source.headers();
        byte[] payload = source.payload();
        DeadLetter.Builder letter = DeadLetter.newBuilder()
                .setStage(stage)
                .setReason(reason)
                .setMessage(message == null ? reason.name() : message)
                .setOriginalTopic(sourceTopic == null ? "" : sourceTopic)
                .setOriginalPartition(partition)
                .setOriginalOffset(offset)
                .setRejectedAtMs(System.currentTimeMillis());
        if (key != null) {
            letter.setOriginalKey(ByteString.copyFrom(key));
        }
        String requestId = headers == null ? null : RecordHeaders.text(headers, RecordHeaders.REQUEST_ID);
        if (requestId == null && key != null) {
            requestId = new String(key, StandardCharsets.UTF_8);
        }
        if (requestId != null) {
            letter.setRequestId(requestId);
        }
        if (headers != null) {
            for (Header header : headers) {
                letter.addOriginalHeadersBuilder()
                        .setKey(header.key())
                        .setValue(header.value() == null ? ByteString.EMPTY : ByteString.copyFrom(header.value()));
            }
        }
        if (payload != null) {
            int kept = Math.min(payload.length, payloadCapBytes);
            letter.setOriginalPayload(ByteString.copyFrom(payload, 0, kept))
                    .setPayloadTruncated(kept < payload.length)
                    .setOriginalSizeBytes(payload.length);
        }
        return letter.build();
    }

    /**
     * Why a record was refused when it does not parse as its topic's message type, e.g. {@code the
     * record is not a valid vision.v1.VideoRequest: While parsing a protocol message, ...}.
     */
    public static String unparsable(Topic<?> topic, InvalidProtocolBufferException e) {
        return "the record is not a valid " + topic.type() + ": " + e.getMessage();
    }

    /** The DESERIALIZATION_FAILED dead letter of a consumed record that is not a message of its topic. */
    public ProducerRecord<byte[], byte[]> unparsable(
            ConsumerRecord<byte[], byte[]> record, String stage, Topic<?> topic, InvalidProtocolBufferException e) {
        return forRecord(record, stage, ReasonCode.DESERIALIZATION_FAILED, unparsable(topic, e));
    }

    /** A dead-letter producer record for a consumed record. */
    public ProducerRecord<byte[], byte[]> forRecord(
            ConsumerRecord<byte[], byte[]> record, String stage, ReasonCode reason, String message) {
        DeadLetter letter = describe(stage, reason, message, Source.of(record));
        return toRecord(letter, record.key(), record.headers());
    }

    /** Wraps a dead letter as a producer record keyed like the input, with its headers. */
    public ProducerRecord<byte[], byte[]> toRecord(DeadLetter letter, byte[] key, Headers originalHeaders) {
        ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(topic.name(), key, topic.encode(letter));
        addHeaders(letter, originalHeaders, out.headers());
        return out;
    }

    /** The headers of a dead letter's record: the input's propagated ones, reason and stage. */
    public void addHeaders(DeadLetter letter, Headers originalHeaders, Headers out) {
        if (originalHeaders != null) {
            RecordHeaders.propagate(originalHeaders, out);
        }
        RecordHeaders.put(out, RecordHeaders.DLQ_REASON, letter.getReason().name());
        RecordHeaders.put(out, RecordHeaders.DLQ_STAGE, letter.getStage());
    }
}
