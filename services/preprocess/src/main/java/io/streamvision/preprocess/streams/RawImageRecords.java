package io.streamvision.preprocess.streams;

import com.google.protobuf.ByteString;
import io.streamvision.proto.vision.v1.ImageRequest;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Records of {@code vision.images.v1} whose value is the image file itself, marked by a {@code
 * content-type: image/...} header, so the topic can be driven with kcat or any producer without
 * protobuf: {@code kcat -P -b localhost:9092 -t vision.images.v1 -H content-type=image/jpeg -H
 * x-models=fashion-cnn -k my-id photo.jpg}. The request id is the record key (the usual fallback);
 * headers give what an {@code ImageRequest} would: {@code x-request-id}, {@code x-models}
 * (comma-separated), {@code x-top-k}, and {@code x-attr-<name>} attributes. Stateless, thread-safe.
 */
final class RawImageRecords {

    private static final String ATTRIBUTE_PREFIX = "x-attr-";

    private RawImageRecords() {}

    /** The request a raw-image record stands for; IllegalArgumentException for a bad header. */
    static ImageRequest request(byte[] value, Headers headers) {
        ImageRequest.Builder request =
                ImageRequest.newBuilder().setImage(ByteString.copyFrom(value == null ? new byte[0] : value));
        for (Header h : headers) {
            String name = h.key().toLowerCase(Locale.ROOT);
            String v = h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8).trim();
            if (name.equals("x-request-id") && !v.isEmpty()) {
                request.setRequestId(v);
            } else if (name.equals("x-models")) {
                for (String model : v.split(",")) {
                    if (!model.isBlank()) {
                        request.addModels(model.trim());
                    }
                }
            } else if (name.equals("x-top-k")) {
                try {
                    request.setTopK(Integer.parseInt(v));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("header x-top-k must be a number, not '" + v + "'");
                }
            } else if (name.startsWith(ATTRIBUTE_PREFIX) && name.length() > ATTRIBUTE_PREFIX.length()) {
                request.putAttributes(h.key().substring(ATTRIBUTE_PREFIX.length()), v);
            }
        }
        return request.build();
    }
}
