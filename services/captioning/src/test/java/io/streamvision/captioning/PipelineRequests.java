package io.streamvision.captioning;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.VideoRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Input records of the pipeline tests, as {@code vision submit-images} and {@code submit-videos} send them. */
final class PipelineRequests {

    private PipelineRequests() {}

    /** An image file as an {@code ImageRequest} on the images topic, keyed and identified by {@code id}. */
    static ProducerRecord<byte[], byte[]> image(Topics topics, String id, Path file) throws IOException {
        ImageRequest request = ImageRequest.newBuilder()
                .setRequestId(id)
                .setImage(ByteString.copyFrom(Files.readAllBytes(file)))
                .build();
        return keyed(topics.images().name(), id, request);
    }

    /**
     * A video file carried inline as a {@code VideoRequest} on the videos topic, keyed and identified
     * by {@code id}, sampling every {@code everyNFrames}-th frame.
     */
    static ProducerRecord<byte[], byte[]> inlineVideo(Topics topics, String id, Path file, int everyNFrames)
            throws IOException {
        VideoRequest request = VideoRequest.newBuilder()
                .setVideoId(id)
                .setVideo(ByteString.copyFrom(Files.readAllBytes(file)))
                .setEveryNFrames(everyNFrames)
                .build();
        return keyed(topics.videos().name(), id, request);
    }

    private static ProducerRecord<byte[], byte[]> keyed(String topic, String id, Message value) {
        return new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), value.toByteArray());
    }
}
