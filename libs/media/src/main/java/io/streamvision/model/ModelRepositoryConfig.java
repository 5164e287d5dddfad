package io.streamvision.model;

import io.smallrye.config.WithDefault;

/**
 * Where a service finds its model repository and how often it looks for new versions: the same keys
 * under every service's prefix ({@code vision.preprocess.models-dir}, {@code
 * vision.scoring.models-poll-seconds}, ...).
 */
public interface ModelRepositoryConfig {

    /** Model repository root ({@code <dir>/<model>/<version>/config.json}). */
    @WithDefault("models")
    String modelsDir();

    /** How often the repository is checked for new versions, in seconds. */
    @WithDefault("15")
    int modelsPollSeconds();

    /**
     * As Triton's {@code --model-control-mode}: {@code poll} serves the configured models (every
     * model when none is named) and picks up new versions on each poll; {@code explicit} loads the
     * configured models at start as a startup list, then loads and unloads only on request (the
     * model repository API), without polling.
     */
    @WithDefault("poll")
    String modelControlMode();
}
