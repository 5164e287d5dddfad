package io.streamvision.captioning;

import com.google.protobuf.ByteString;
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
        return new ProducerRecord<>(
                topics.images().name(),
                id.getBytes(StandardCharsets.UTF_8),
                ImageRequest.newBuilder()
                        .setRequestId(id)
                        .setImage(ByteString.copyFrom(Files.readAllBytes(file)))
                        .build()
                        .toByteArray());
    }

    /**
     * A video file carried inline as a {@code VideoRequest} on the videos topic, keyed and identified
     * by {@code id}, sampling every {@code everyNFrames}-th frame.
     */
    static ProducerRecord<byte[], byte[]> inlineVideo(Topics topics, String id, Path file, int everyNFrames)
            throws IOException {
        return new ProducerRecord<>(
                topics.videos().name(),
                id.getBytes(StandardCharsets.UTF_8),
                VideoRequest.newBuilder()
                        .setVideoId(id)
                        .setVideo(ByteString.copyFrom(Files.readAllBytes(file)))
                        .setEveryNFrames(everyNFrames)
                        .build()
                        .toByteArray());
    }
}
