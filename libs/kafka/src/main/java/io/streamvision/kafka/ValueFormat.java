package io.streamvision.kafka;

import java.util.Locale;

/**
 * How the values of a topic are written: protobuf's binary encoding (the default) or protobuf's
 * canonical JSON mapping ({@code vision.kafka.output-format=json}), so that {@code kcat -C} and
 * applications without the {@code .proto} files can read the results. Readers accept both: a value
 * whose first byte is <code>{</code> is JSON (no protobuf message starts with that byte: it would be
 * field 15 with the group wire type, which proto3 does not write), anything else is binary.
 */
public enum ValueFormat {
    PROTOBUF,
    JSON;

    /** {@code protobuf} or {@code json}, in any case. */
    public static ValueFormat parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("output format '" + name + "' is neither protobuf nor json", e);
        }
    }

    /**
     * True when {@code value} is in the JSON mapping: its first byte is <code>{</code>. Leading
     * blanks are not skipped, since their bytes are common protobuf tags (a newline is field 1 as a
     * string).
     */
    public static boolean isJson(byte[] value) {
        return value.length > 0 && value[0] == '{';
    }
}
