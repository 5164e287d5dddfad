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
 * the endpoint the owner advertises as {@code application.server}. While the owner cannot answer
 * (after a fail-over it restores its stores from the changelog first; or it is gone and the group
 * has not noticed yet), an instance with a standby copy answers ({@code num.standby.replicas}),
 * and the answer says so ({@code stale}). Thread-safe.
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
     * aggregated. When the owner cannot answer (its store is restoring after a fail-over, or it is
     * unreachable), a standby copy answers instead, marked {@code stale}.
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
        UnavailableException ownerDown;
        try {
            return isSelf(owner) ? findLocal(videoId, false) : fetch(owner, videoId, false);
        } catch (UnavailableException e) {
            ownerDown = e;
        }
        for (HostInfo standby : meta.standbyHosts()) {
            try {
                Optional<VideoSummary> answer =
                        isSelf(standby) ? findLocal(videoId, true) : fetch(standby, videoId, true);
                return answer.map(s -> s.toBuilder().setStale(true).build());
            } catch (UnavailableException e) {
                // try the next copy
            }
        }
        throw new UnavailableException(ownerDown.getMessage()
                + (meta.standbyHosts().isEmpty()
                        ? " (no standby copy: num.standby.replicas is 0 or only one instance runs)"
                        : "; no standby copy answered either"));
    }

    /**
     * The summary from this instance's stores only: counts only while the video is in progress, the
     * full timeline (read from its frames) once it is final.
     *
     * @param standby also from a standby copy of the stores (or one still restoring), not only from
     *     the active task
     */
    public Optional<VideoSummary> findLocal(String videoId, boolean standby) {
        byte[] stored;
        ReadOnlyKeyValueStore<String, byte[]> frames;
        try {
            ReadOnlyKeyValueStore<String, byte[]> headers =
                    streams.store(parameters(VideoSummaryTopology.STORE, standby));
            stored = headers.get(videoId);
            if (stored == null) {
                return Optional.empty();
            }
            frames = streams.store(parameters(VideoSummaryTopology.FRAMES_STORE, standby));
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
            return Optional.of(served(VideoTimelines.progress(agg)));
        }
        try {
            return Optional.of(served(VideoTimelines.summarize(
                    agg,
                    VideoTimelines.state(agg),
                    VideoSummaryTopology.frameSource(frames, videoId),
                    new VideoTimelines.Shape(
                            config.videos().maxSegments(),
                            config.videos().objectGapFrames(),
                            config.videos().outOfDomainGapFrames()))));
        } catch (InvalidStateStoreException e) {
            throw new UnavailableException("the video-frames store is not ready here: " + e.getMessage());
        }
    }

    private static StoreQueryParameters<ReadOnlyKeyValueStore<String, byte[]>> parameters(
            String store, boolean standby) {
        StoreQueryParameters<ReadOnlyKeyValueStore<String, byte[]>> p =
                StoreQueryParameters.fromNameAndType(store, QueryableStoreTypes.<String, byte[]>keyValueStore());
        return standby ? p.enableStaleStores() : p;
    }

    private VideoSummary served(VideoSummary summary) {
        return summary.toBuilder().setServedBy(applicationServer).build();
    }

    private boolean isSelf(HostInfo owner) {
        HostInfo self = HostInfo.buildFromEndpoint(applicationServer);
        return self.host().equals(owner.host()) && self.port() == owner.port();
    }

    private Optional<VideoSummary> fetch(HostInfo owner, String videoId, boolean standby) {
        URI uri = URI.create("http://"
                + owner.host()
                + ":"
                + owner.port()
                + "/videos/"
                + URLEncoder.encode(videoId, StandardCharsets.UTF_8).replace("+", "%20")
                + "?local=true"
                + (standby ? "&standby=true" : ""));
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
