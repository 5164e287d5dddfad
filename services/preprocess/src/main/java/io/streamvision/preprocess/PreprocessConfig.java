package io.streamvision.preprocess;

import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.streamvision.video.VideoFrameReader;

/** Settings of the preprocess service ({@code vision.preprocess.*}). */
@ConfigMapping(prefix = "vision.preprocess")
public interface PreprocessConfig {

    /** Model repository root ({@code <dir>/<model>/<version>/config.json}). */
    @WithDefault("models")
    String modelsDir();

    /** How often the model repository is re-read, in seconds. */
    @WithDefault("30")
    int modelsRefreshSeconds();

    /** Models an image goes to when its request names none: labels and the caption encoder. */
    @WithDefault("fashion-cnn,caption-encoder")
    List<String> defaultModels();

    /**
     * Largest encoded image accepted, in bytes: 15 MiB, 1 MiB under the 16 MiB records the topics
     * carry, so a larger image still arrives and gets {@code TOO_LARGE}.
     */
    @WithDefault("15728640")
    int maxImageBytes();

    /** Widest image accepted, in pixels. */
    @WithDefault("8192")
    int maxImageWidth();

    /** Tallest image accepted, in pixels. */
    @WithDefault("8192")
    int maxImageHeight();

    /** Largest width × height accepted. */
    @WithDefault("40000000")
    long maxImagePixels();

    /** Grey level (0–255) that transparent pixels are composited over. */
    @WithDefault("0")
    int alphaBackground();

    /** Send UINT8 tensors to models whose config accepts them. */
    @WithDefault("true")
    boolean preferUint8();

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

        /** Largest video carried inline in a request, in bytes (must fit the broker's message size). */
        @WithDefault("8388608")
        int maxInlineBytes();

        /** FFmpeg decoder threads per segment; 0 lets FFmpeg choose (one per core). */
        @WithDefault("1")
        int decoderThreads();

        /** Container formats FFmpeg may open (FFmpeg demuxer names; playlists are left out on purpose). */
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
        /** Directories that file: URIs and paths may point into (symlinks are followed, then checked). */
        @WithDefault("media")
        List<String> fileRoots();

        /** URL prefixes ({@code https://host[:port]/path/}) that http(s) sources may start with; none by default. */
        Optional<List<String>> urlPrefixes();

        /** Redirects followed for an allowed URL; every hop must be on the list too. */
        @WithDefault("3")
        int maxRedirects();
    }

    /** Kafka settings of the video loops. */
    interface Kafka {
        /** Consumer group of the planner; the segment loop uses this with "-segments" appended. */
        @WithDefault("vision-preprocess-videos")
        String groupId();

        /**
         * Transactional id prefix, unique per live instance: the loops append "-planner" and
         * "-segments". It need not survive a restart (docs/exactly-once.md).
         */
        @WithDefault("vision-preprocess-0")
        String transactionalId();

        /** Partitions of vision.video-segments.v1 when the service creates it: the most instances that decode one video together. */
        @WithDefault("12")
        int segmentPartitions();

        /** Requests planned per poll. */
        @WithDefault("16")
        int maxPollRecords();

        /** Poll timeout in milliseconds. */
        @WithDefault("200")
        int pollTimeoutMs();

        /** Largest record produced (frame tensors, segments, events). */
        @WithDefault("16777216")
        int maxRequestBytes();

        /** Kafka transaction timeout of the loops, in milliseconds. */
        @WithDefault("60000")
        int transactionTimeoutMs();
        /** Consumer session timeout: a member that died without leaving is replaced after this, in milliseconds. */
        @WithDefault("10000")
        int sessionTimeoutMs();

        /** Consumer heartbeat interval, in milliseconds (a third of the session or less). */
        @WithDefault("3000")
        int heartbeatIntervalMs();

        /** Static group membership ({@code group.instance.id}; the loops append -planner and -segments); set only to a name that survives restarts. */
        java.util.Optional<String> groupInstanceId();
    }
}
