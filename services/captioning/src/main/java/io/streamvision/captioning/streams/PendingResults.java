package io.streamvision.captioning.streams;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.proto.vision.v1.ImageResult;
import java.nio.ByteBuffer;

/**
 * The value format of the results join's {@value ResultsTopology#STORE} store.
 *
 * <ul>
 *   <li>{@link Format#V1}: the value is the pending {@code ImageResult}; the request id and trace
 *       headers of its first part are kept in a second store, {@value ResultsTopology#HEADERS_STORE}.
 *       Every pending result costs two more changelog records (the headers' put and delete) and a
 *       second changelog partition in every transaction.
 *   <li>{@link Format#V2}: one value carries both: a zero byte, the format's number (2), the length
 *       of the encoded headers as a four-byte big-endian integer, the headers ({@code
 *       RecordHeaders.encodePropagated}), then the {@code ImageResult}. A serialized {@code
 *       ImageResult} never starts with a zero byte (protobuf field numbers start at 1, and a stored
 *       result always has its request id), so the two formats cannot be mistaken for each other.
 * </ul>
 *
 * Every release that knows V2 reads both; which one it writes is {@code
 * vision.captioning.results.pending-store-format}. Markers of emitted results (an {@code ImageResult}
 * with {@code emitted_at_ms} and no headers) are written as V1 values in either format, so that a
 * V1-only release reads them too.
 */
public final class PendingResults {

    /** How pending results are written. */
    public enum Format {
        /** The result alone; its headers in the separate headers store (releases before V2). */
        V1,
        /** The result and its headers in one value. */
        V2
    }

    private static final byte V2_TAG = 2;
    private static final int V2_PREFIX = 6;

    /** A stored value, read: the result and, for a V2 value, its first part's headers (else null). */
    record Stored(ImageResult result, byte[] headers) {}

    private PendingResults() {}

    /** A V2 value: the result and its first part's encoded headers. */
    static byte[] v2(ImageResult result, byte[] headers) {
        byte[] message = result.toByteArray();
        return ByteBuffer.allocate(V2_PREFIX + headers.length + message.length)
                .put((byte) 0)
                .put(V2_TAG)
                .putInt(headers.length)
                .put(headers)
                .put(message)
                .array();
    }

    /** Reads a value of either format. */
    static Stored read(byte[] value) throws InvalidProtocolBufferException {
        if (value.length == 0 || value[0] != 0) {
            return new Stored(ImageResult.parseFrom(value), null);
        }
        if (value.length < V2_PREFIX || value[1] != V2_TAG) {
            throw new InvalidProtocolBufferException("pending result of an unknown format (" + value.length
                    + " bytes, format " + (value.length > 1 ? value[1] : -1) + ")");
        }
        ByteBuffer in = ByteBuffer.wrap(value, 2, value.length - 2);
        int length = in.getInt();
        if (length < 0 || length > value.length - V2_PREFIX) {
            throw new InvalidProtocolBufferException(
                    "pending result with headers of " + length + " bytes in " + value.length);
        }
        byte[] headers = new byte[length];
        in.get(headers);
        return new Stored(
                ImageResult.parseFrom(ByteBuffer.wrap(value, V2_PREFIX + length, value.length - V2_PREFIX - length)),
                headers);
    }
}
