package io.streamvision.kafka;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/** Names of the headers every record carries from the first topic to the last, and helpers. */
public final class RecordHeaders {

    /** The request id (also the record key). */
    public static final String REQUEST_ID = "x-request-id";

    /** W3C trace context. */
    public static final String TRACEPARENT = "traceparent";

    /** On dead letters: the reason code, so consumers can filter without parsing. */
    public static final String DLQ_REASON = "x-dlq-reason";

    /** On dead letters: the stage that rejected the input. */
    public static final String DLQ_STAGE = "x-dlq-stage";

    private static final String[] PROPAGATED = {REQUEST_ID, TRACEPARENT};

    private RecordHeaders() {}

    /** The last value of a header as UTF-8, or null. */
    public static String text(Headers headers, String key) {
        Header header = headers.lastHeader(key);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    /** Copies the request id and trace context from one record's headers to another's. */
    public static void propagate(Headers from, Headers to) {
        for (String key : PROPAGATED) {
            Header header = from.lastHeader(key);
            if (header != null) {
                to.remove(key);
                to.add(key, header.value());
            }
        }
    }

    /** Sets a header to a UTF-8 value, replacing any earlier one. */
    public static void put(Headers headers, String key, String value) {
        headers.remove(key);
        headers.add(key, value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The request id and trace context of {@code headers} as bytes, for a processor that keeps them
     * in a state store until it emits (length-prefixed key and value pairs).
     */
    public static byte[] encodePropagated(Headers headers) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        try {
            for (String key : PROPAGATED) {
                Header header = headers.lastHeader(key);
                if (header != null && header.value() != null) {
                    out.writeUTF(key);
                    out.writeInt(header.value().length);
                    out.write(header.value());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Headers made from {@link #encodePropagated} bytes; empty headers for null or unreadable
     * bytes.
     */
    public static Headers decodePropagated(byte[] encoded) {
        Headers headers = new org.apache.kafka.common.header.internals.RecordHeaders();
        if (encoded == null) {
            return headers;
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded));
        try {
            while (in.available() > 0) {
                String key = in.readUTF();
                byte[] value = new byte[in.readInt()];
                in.readFully(value);
                headers.add(key, value);
            }
        } catch (IOException | RuntimeException e) {
            return new org.apache.kafka.common.header.internals.RecordHeaders();
        }
        return headers;
    }
}
