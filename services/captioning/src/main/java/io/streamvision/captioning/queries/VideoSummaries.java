package io.streamvision.captioning.queries;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.captioning.streams.VideoSummaryTopology;
import io.streamvision.captioning.streams.VideoTimelines;
import io.streamvision.proto.vision.v1.VideoAggregate;
import io.streamvision.proto.vision.v1.VideoSummary;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Answers "what is the summary of video X" from the video stores with Kafka Streams interactive
 * queries: the instance that owns the video's partition answers from its local stores (the header
 * in video-summaries; for a finished video, the timeline built from its frames in video-frames);
 * any other instance asks the owner over HTTP ({@code GET /videos/{id}?local=true}, as protobuf) at
 * the endpoint the owner advertises as {@code application.server}. Thread-safe.
 */
@ApplicationScoped
public class VideoSummaries {

    /** The store is not queryable right now (starting, rebalancing, owner unreachable). */
    public static final class UnavailableException extends RuntimeException {
        public UnavailableException(String message) {
            super(message);
        }
    }

    public static final String PROTOBUF = "application/x-protobuf";

    @Inject
    KafkaStreams streams;

    @Inject
    CaptioningConfig config;

    @ConfigProperty(name = "quarkus.kafka-streams.application-server")
    String applicationServer;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /**
     * The summary of a video from whichever instance owns it; empty when no part of it was
     * aggregated.
     */
    public Optional<VideoSummary> find(String videoId) {
        KeyQueryMetadata meta;
        try {
            meta = streams.queryMetadataForKey(
                    VideoSummaryTopology.STORE, videoId, Serdes.String().serializer());
        } catch (IllegalStateException e) {
            throw new UnavailableException("video summaries are not queryable yet: " + e.getMessage());
        }
        if (meta == null || meta == KeyQueryMetadata.NOT_AVAILABLE) {
            throw new UnavailableException(
                    "video summaries are not queryable yet (the streams application is " + streams.state() + ")");
        }
        HostInfo owner = meta.activeHost();
        return isSelf(owner) ? findLocal(videoId) : fetch(owner, videoId);
    }

    /**
     * The summary from this instance's stores only: counts only while the video is in progress, the
     * full timeline (read from its frames) once it is final.
     */
    public Optional<VideoSummary> findLocal(String videoId) {
        byte[] stored;
        ReadOnlyKeyValueStore<String, byte[]> frames;
        try {
            ReadOnlyKeyValueStore<String, byte[]> headers = streams.store(StoreQueryParameters.fromNameAndType(
                    VideoSummaryTopology.STORE, QueryableStoreTypes.<String, byte[]>keyValueStore()));
            stored = headers.get(videoId);
            if (stored == null) {
                return Optional.empty();
            }
            frames = streams.store(StoreQueryParameters.fromNameAndType(
                    VideoSummaryTopology.FRAMES_STORE, QueryableStoreTypes.<String, byte[]>keyValueStore()));
        } catch (InvalidStateStoreException e) {
            throw new UnavailableException("the video stores are not ready here: " + e.getMessage());
        }
        VideoAggregate agg;
        try {
            agg = VideoAggregate.parseFrom(stored);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("unreadable aggregate for video " + videoId, e);
        }
        if (!agg.getFinalEmitted()) {
            return Optional.of(VideoTimelines.progress(agg));
        }
        try {
            return Optional.of(VideoTimelines.summarize(
                    agg,
                    VideoTimelines.state(agg),
                    VideoSummaryTopology.frameSource(frames, videoId),
                    new VideoTimelines.Shape(
                            config.videos().maxSegments(),
                            config.videos().objectGapFrames(),
                            config.videos().outOfDomainGapFrames())));
        } catch (InvalidStateStoreException e) {
            throw new UnavailableException("the video-frames store is not ready here: " + e.getMessage());
        }
    }

    private boolean isSelf(HostInfo owner) {
        HostInfo self = HostInfo.buildFromEndpoint(applicationServer);
        return self.host().equals(owner.host()) && self.port() == owner.port();
    }

    private Optional<VideoSummary> fetch(HostInfo owner, String videoId) {
        URI uri = URI.create("http://"
                + owner.host()
                + ":"
                + owner.port()
                + "/videos/"
                + URLEncoder.encode(videoId, StandardCharsets.UTF_8).replace("+", "%20")
                + "?local=true");
        try {
            HttpResponse<byte[]> response = http.send(
                    HttpRequest.newBuilder(uri)
                            .header("Accept", PROTOBUF)
                            .timeout(Duration.ofSeconds(5))
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() == 404) {
                return Optional.empty();
            }
            if (response.statusCode() != 200) {
                throw new UnavailableException(
                        "the owner of video " + videoId + " (" + owner + ") answered HTTP " + response.statusCode());
            }
            return Optional.of(VideoSummary.parseFrom(response.body()));
        } catch (IOException e) {
            throw new UnavailableException("cannot reach the owner of video " + videoId + " at " + owner + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted while asking " + owner);
        }
    }
}
