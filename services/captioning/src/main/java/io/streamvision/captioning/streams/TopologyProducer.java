package io.streamvision.captioning.streams;

import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.kafka.KafkaTopicsConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import java.time.Duration;
import java.util.Set;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.KStream;

/** Builds the results and video-summary topologies from configuration; Quarkus runs them. */
@ApplicationScoped
public class TopologyProducer {

    @Produces
    public Topology topology(CaptioningConfig config, KafkaTopicsConfig kafka) {
        StreamsBuilder builder = new StreamsBuilder();
        KStream<byte[], byte[]> scores = ResultsTopology.scoresSource(builder, kafka.topics());
        ResultsTopology.build(
                builder,
                scores,
                kafka.topics(),
                kafka.deadLetters(),
                new ResultsTopology.Expected(
                        Set.copyOf(config.results().classifiers()),
                        Set.copyOf(config.results().captionEncoders())),
                Duration.ofMillis(config.results().windowMs()),
                Duration.ofMillis(config.results().punctuateMs()),
                config.results().pendingStoreFormat());
        CaptioningConfig.Videos videos = config.videos();
        VideoSummaryTopology.build(
                builder,
                scores,
                kafka.topics(),
                kafka.deadLetters(),
                new VideoSummaryTopology.Settings(
                        videos.progressEveryFrames(),
                        Duration.ofMillis(videos.stallTimeoutMs()),
                        Duration.ofMillis(videos.retentionMs()),
                        Duration.ofMillis(config.results().punctuateMs()),
                        videos.maxSegments(),
                        Duration.ofMillis(videos.samplingStallTimeoutMs()),
                        videos.objectGapFrames(),
                        videos.outOfDomainGapFrames()));
        return builder.build();
    }
}
