package io.streamvision.scoring;

import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Settings of the scoring service ({@code vision.scoring.*}). */
@ConfigMapping(prefix = "vision.scoring")
public interface ScoringConfig {

    /** Model repository root. */
    @WithDefault("models")
    String modelsDir();

    /** Models to serve; empty serves every model in the repository. */
    Optional<List<String>> models();

    /** How often the repository is checked for new versions, in seconds. */
    @WithDefault("15")
    int modelsPollSeconds();

    /** Labels in each classification when the request does not say. */
    @WithDefault("5")
    int topK();

    /**
     * Models besides caption encoders whose feature vectors are published to
     * vision.features.v1 (e.g. for similarity search); caption encoders always publish.
     */
    Optional<List<String>> emitFeatures();

    /** ONNX Runtime execution settings. */
    Execution execution();

    /** Image limits of the Classify call ({@code vision.scoring.images.*}). */
    io.streamvision.imaging.ImageLimitsConfig images();

    /** The Kafka loop. */
    Kafka kafka();

    /** ONNX Runtime execution settings ({@code vision.scoring.execution.*}). */
    interface Execution {
        /** cpu, cuda or auto. */
        @WithDefault("auto")
        String provider();

        /** CUDA device ordinal. */
        @WithDefault("0")
        int cudaDeviceId();

        /** GPU memory arena limit in bytes; 0 for no limit. */
        @WithDefault("0")
        long cudaMemoryLimitBytes();

        /** Exhaustive cuDNN convolution search. */
        @WithDefault("false")
        boolean cudnnExhaustiveSearch();

        /** Threads inside one operator; 0 for ONNX Runtime's default. */
        @WithDefault("0")
        int intraOpThreads();

        /** Threads across operators; 0 for ONNX Runtime's default. */
        @WithDefault("0")
        int interOpThreads();
    }

    /** The transactional Kafka loop ({@code vision.scoring.kafka.*}). */
    interface Kafka {
        /** Run the loop at all (off for a gRPC-only deployment). */
        @WithDefault("true")
        boolean enabled();

        /** Consumer group. */
        @WithDefault("vision-scoring")
        String groupId();

        /**
         * Transactional id, unique per live instance. Exactly-once does not depend on it surviving a
         * restart: a dead instance's open transaction is aborted by the broker after the
         * transaction timeout, and its stale offset commits are refused by consumer-group
         * generation (KIP-447). A stable id (a StatefulSet pod name) only makes the abort happen at
         * once, when the new instance initialises its producer (docs/exactly-once.md).
         */
        @WithDefault("vision-scoring-0")
        String transactionalId();

        /** Records per poll, and so the largest Kafka batch. */
        @WithDefault("64")
        int maxPollRecords();

        /** Poll timeout in milliseconds. */
        @WithDefault("200")
        int pollTimeoutMs();

        /** Largest record the loop produces; larger outputs become TOO_LARGE dead letters. */
        @WithDefault("1048576")
        int maxRequestBytes();
        /** Consumer session timeout: a member that died without leaving is replaced after this, in milliseconds. */
        @WithDefault("10000")
        int sessionTimeoutMs();

        /** Consumer heartbeat interval, in milliseconds (a third of the session or less). */
        @WithDefault("3000")
        int heartbeatIntervalMs();

        /** Static group membership ({@code group.instance.id}); set only to a name that survives restarts. */
        java.util.Optional<String> groupInstanceId();
    }
}
