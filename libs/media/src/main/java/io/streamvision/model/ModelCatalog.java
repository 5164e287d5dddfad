package io.streamvision.model;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The newest config of each model in a repository, re-read at most once per refresh interval so
 * that per-record look-ups cost a map access while new versions still appear without a restart.
 * Thread-safe.
 */
public final class ModelCatalog {

    private final ModelRepository repository;
    private final long refreshNanos;
    private volatile Map<String, ModelConfig> configs;
    private volatile long loadedAt;

    public ModelCatalog(ModelRepository repository, Duration refresh) {
        this.repository = repository;
        this.refreshNanos = refresh.toNanos();
        this.configs = repository.latestConfigs();
        this.loadedAt = System.nanoTime();
    }

    /** The newest config of a model, if the repository has it. */
    public Optional<ModelConfig> latest(String name) {
        return Optional.ofNullable(current().get(name));
    }

    /** Every model's newest config. */
    public Map<String, ModelConfig> all() {
        return current();
    }

    private Map<String, ModelConfig> current() {
        if (System.nanoTime() - loadedAt > refreshNanos) {
            synchronized (this) {
                if (System.nanoTime() - loadedAt > refreshNanos) {
                    configs = repository.latestConfigs();
                    loadedAt = System.nanoTime();
                }
            }
        }
        return configs;
    }
}
