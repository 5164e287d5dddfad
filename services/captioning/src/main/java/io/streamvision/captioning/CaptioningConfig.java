package io.streamvision.captioning;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.streamvision.captioning.streams.PendingResults;
import io.streamvision.imaging.ImagesConfig;
import io.streamvision.kafka.KafkaLoopConfig;
import io.streamvision.runtime.ModelServingConfig;
import io.streamvision.security.EndpointSecurityConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Settings of the captioning service ({@code vision.captioning.*}). */
@ConfigMapping(prefix = "vision.captioning")
public interface CaptioningConfig extends ModelServingConfig, EndpointSecurityConfig {

    /**
     * File holding the bearer token captioning sends to the scoring service (which needs groups
     * inference and metadata); none sent when unset. Read again when it changes.
     */
    Optional<Path> scoringTokenFile();

    /**
     * Kafka Streams standby replicas of the results and video stores ({@code
     * kafka-streams.num.standby.replicas} is set from it): a warm copy on another instance that
     * answers video queries, marked stale, while the owner restores after a fail-over.
     */
    @WithDefault("1")
    int standbyReplicas();

    /** The decoder-step model (its config names the encoder whose features it reads). */
    @WithDefault("caption-decoder")
    String decoder();

    /** Image limits of the Caption and Describe calls ({@code vision.captioning.images.*}). */
    ImagesConfig images();

    /** Classifier whose labels Describe returns when the request names none. */
    @WithDefault("fashion-cnn")
    String describeClassifier();

    /** Labels Describe returns when the request does not say. */
    @WithDefault("5")
    int topK();

    /** Beam width; 1 means greedy search. */
    @WithDefault("3")
    int beamWidth();

    /**
     * Shortest caption in words: the end token cannot be chosen before (0: no minimum, as the
     * reference).
     */
    @WithDefault("0")
    int minTokens();

    /** Longest caption in tokens; 0 takes the vocabulary file's max_length. */
    @WithDefault("0")
    int maxTokens();

    /** Hypotheses are ranked by log-probability / length^alpha; 0 ranks by log-probability. */
    @WithDefault("0.0")
    double lengthPenaltyAlpha();

    /** Alternatives reported besides the best caption (beam search only). */
    @WithDefault("2")
    int alternatives();

    /** The transactional Kafka loop. */
    Kafka kafka();

    /** The results topology. */
    Results results();

    /** The per-video label timelines. */
    Videos videos();

    /** The web console at {@code /} ({@code vision.captioning.console.*}). */
    Console console();

    /** The web console: live results, dead letters, videos, status and an upload box. */
    interface Console {
        /** Serve the console and read its topics. */
        @WithDefault("true")
        boolean enabled();

        /** Events (results, dead letters, video summaries) kept for a page that opens later. */
        @WithDefault("200")
        int recent();

        /** The services whose readiness the status strip shows, as {@code name=readiness URL}. */
        @WithDefault("preprocess=http://localhost:8081/q/health/ready,"
                + "scoring=http://localhost:8092/q/health/ready,"
                + "captioning=http://localhost:8093/q/health/ready")
        List<String> services();

        /** Consumer groups (and Kafka Streams application ids) whose lag the status strip shows. */
        @WithDefault("vision-preprocess,vision-preprocess-videos,vision-preprocess-videos-segments,"
                + "vision-scoring,vision-captioning,vision-results")
        List<String> lagGroups();

        /** The scoring service's HTTP address, whose {@code /v2/rollouts} the rollouts panel shows. */
        @WithDefault("http://localhost:8082")
        String scoringUrl();

        /** Uploaded videos are sampled every this many frames. */
        @WithDefault("5")
        int videoEveryNFrames();

        /**
         * The models the upload box ticks at first for images (the user may tick others): the
         * detector for real photographs, the demo classifier and the caption encoder.
         */
        @WithDefault("centernet,fashion-cnn,caption-encoder")
        List<String> imageModels();
    }

    /** Per-video summaries ({@code vision.captioning.videos.*}). */
    interface Videos {
        /**
         * A progress update goes out every this many newly scored frames (0: only the final
         * summary).
         */
        @WithDefault("100")
        long progressEveryFrames();

        /**
         * A fully sampled video whose frame scores stop coming for this long ends as FAILED, in
         * milliseconds.
         */
        @WithDefault("120000")
        long stallTimeoutMs();

        /**
         * A video still waiting for segment events ends as FAILED after this long without any new
         * part, in milliseconds. Long: segments of many videos queue behind each other.
         */
        @WithDefault("21600000")
        long samplingStallTimeoutMs();

        /** How long a finished video stays queryable, in milliseconds. */
        @WithDefault("86400000")
        long retentionMs();

        /**
         * Most segments one model's timeline lists. With more label changes, runs shorter than
         * frames / (max-segments - 1) are merged into their neighbours and the timeline says so
         * ({@code segments_merged}); this bounds the size of a summary whatever the video's length.
         */
        @WithDefault("1000")
        int maxSegments();

        /**
         * Detection models' object timelines: consecutive sampled frames a class may be missing from
         * without its interval ending (so one missed detection does not split an interval).
         */
        @WithDefault("1")
        int objectGapFrames();

        /**
         * Label timelines: at most this many consecutive out-of-domain frames (flagged by the model's
         * out-of-domain score) between two frames of one label do not split its segment.
         */
        @WithDefault("5")
        int outOfDomainGapFrames();
    }

    /** The results topology ({@code vision.captioning.results.*}). */
    interface Results {
        /**
         * Classifiers whose labels a complete result needs besides the caption, for parts that do
         * not name the models their request went to (records from other producers than preprocess).
         */
        @WithDefault("fashion-cnn")
        List<String> classifiers();

        /**
         * Models whose part of a result is its caption: when a request's models include one, its
         * result waits for the caption; every other model of the request adds its labels or objects.
         */
        @WithDefault("caption-encoder")
        List<String> captionEncoders();

        /** How long after its first part a result waits for the others, in milliseconds. */
        @WithDefault("30000")
        long windowMs();

        /** How often pending results are checked against the window, in milliseconds. */
        @WithDefault("1000")
        long punctuateMs();

        /**
         * How pending results are written: {@code V2}, each result and its first part's headers in
         * one value, or {@code V1}, the headers in a second store, as releases before V2 do. Every
         * release that knows V2 reads both; {@code V1} only for the first roll of a rolling upgrade
         * from a V1 release, so that instances still on it read what the new ones write.
         */
        @WithDefault("V2")
        PendingResults.Format pendingStoreFormat();
    }

    /**
     * The transactional Kafka loop ({@code vision.captioning.kafka.*}); the shared loop keys, with
     * this service's defaults in {@code application.properties}.
     */
    interface Kafka extends KafkaLoopConfig {
        /** Run the loop at all. */
        @WithDefault("true")
        boolean enabled();
    }
}
