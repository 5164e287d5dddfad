package io.streamvision.preprocess;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.streamvision.imaging.ImagesConfig;
import io.streamvision.kafka.KafkaLoopConfig;
import io.streamvision.model.ModelRepositoryConfig;
import io.streamvision.video.VideoFrameReader;
import java.util.List;
import java.util.Optional;

/** Settings of the preprocess service ({@code vision.preprocess.*}). */
@ConfigMapping(prefix = "vision.preprocess")
public interface PreprocessConfig extends ModelRepositoryConfig {

    /** Models an image goes to when its request names none: labels and the caption encoder. */
    @WithDefault("fashion-cnn,caption-encoder")
    List<String> defaultModels();

    /** Image limits, alpha background and tensor type ({@code vision.preprocess.images.*}). */
    ImagesConfig images();

    /** Video sampling limits ({@code vision.preprocess.video.*}). */
    Video video();

    /** Video planning, decoding and limits. */
    interface Video {
        /** Read vision.videos.v1 at all. */
        @WithDefault("true")
        boolean enabled();

        /** Models a video's frames go to when its request names none (frame classifiers). */
        @WithDefault("fashion-cnn")
        List<String> defaultModels();

        /** Length of one segment, the unit of work committed on its own, in seconds. */
        @WithDefault("30")
        double segmentSeconds();

        /** Longest video accepted, in seconds (24 h). */
        @WithDefault("86400")
        double maxDurationSeconds();

        /** Widest frame accepted, in pixels. */
        @WithDefault("4096")
        int maxWidth();

        /** Tallest frame accepted, in pixels. */
        @WithDefault("2160")
        int maxHeight();

        /** Most frames sampled from one video (24 h at 1 fps is 86,400). */
        @WithDefault("100000")
        int maxSampledFrames();

        /**
         * Largest video carried inline in a request, in bytes (must fit the broker's message size).
         */
        @WithDefault("8388608")
        int maxInlineBytes();

        /** FFmpeg decoder threads per segment; 0 lets FFmpeg choose (one per core). */
        @WithDefault("1")
        int decoderThreads();

        /**
         * Segment loops in this instance, each a member of the segment group with its own consumer,
         * transactional producer and decoder, so that one instance decodes that many segments at
         * once; 0: one per available processor, at most 4.
         */
        @WithDefault("0")
        int segmentLoops();

        /**
         * Let the decoder skip frames that the sampling cannot keep and no other frame references
         * (B-frames, mostly; FFmpeg's {@code skip_frame=nonref}). The sampled frames are the same,
         * bit for bit; only one decoder thread per segment skips (frame threading does not).
         */
        @WithDefault("true")
        boolean skipUnsampledFrames();

        /**
         * Container formats FFmpeg may open (FFmpeg demuxer names; playlists are left out on
         * purpose).
         */
        @WithDefault(VideoFrameReader.DEFAULT_FORMATS)
        String formats();

        /** Directory for inline videos written to disk while they are decoded. */
        @WithDefault("${java.io.tmpdir}/streamvision-videos")
        String workDir();

        /** Where video requests may point ({@code vision.preprocess.video.sources.*}). */
        Sources sources();

        /** The planner and segment loops ({@code vision.preprocess.video.kafka.*}). */
        Kafka kafka();
    }

    /** The allow-list of video sources. */
    interface Sources {
        /**
         * Directories that file: URIs and paths may point into (symlinks are followed, then
         * checked).
         */
        @WithDefault("media")
        List<String> fileRoots();

        /**
         * URL prefixes ({@code https://host[:port]/path/}) that http(s) sources may start with;
         * none by default.
         */
        Optional<List<String>> urlPrefixes();

        /** Redirects followed for an allowed URL; every hop must be on the list too. */
        @WithDefault("3")
        int maxRedirects();
    }

    /**
     * Kafka settings of the video loops: the shared loop keys (defaults in {@code
     * application.properties}) and these. The planner's group is the group id, the segment loop's
     * has "-segments" appended; transactional ids and static member ids get "-planner" and
     * "-segments".
     */
    interface Kafka extends KafkaLoopConfig {
        /**
         * Partitions of vision.video-segments.v1 when the service creates it: the most instances
         * that decode one video together.
         */
        @WithDefault("12")
        int segmentPartitions();

        /** Kafka transaction timeout of the loops, in milliseconds. */
        @WithDefault("60000")
        int transactionTimeoutMs();
    }
}
