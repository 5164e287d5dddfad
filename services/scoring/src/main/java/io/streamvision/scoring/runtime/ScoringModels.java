package io.streamvision.scoring.runtime;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.runtime.StartupEvent;
import io.streamvision.model.ModelRepository;
import io.micrometer.core.instrument.MeterRegistry;
import io.streamvision.runtime.DynamicBatcher;
import io.streamvision.runtime.ExecutionSettings;
import io.streamvision.runtime.InferenceEngine;
import io.streamvision.runtime.ModelRegistry;
import io.streamvision.runtime.OnnxRuntime;
import io.streamvision.scoring.ScoringConfig;

/**
 * The served models and the inference engine, shared by the Kafka loop and the gRPC services.
 * Loads at start-up and then polls the repository for new versions.
 */
@ApplicationScoped
public class ScoringModels {

    private static final Logger LOG = Logger.getLogger(ScoringModels.class);

    @Inject
    ScoringConfig config;

    @Inject
    MeterRegistry meters;

    private ModelRegistry registry;
    private InferenceEngine engine;
    private DynamicBatcher batcher;
    private ScheduledExecutorService poller;

    /** Loads the models when the application starts rather than on first use. */
    void onStart(@Observes StartupEvent event) {
        registry();
    }

    @PostConstruct
    void load() {
        ScoringConfig.Execution e = config.execution();
        OnnxRuntime runtime = new OnnxRuntime(new ModelRepository(Path.of(config.modelsDir())),
                new ExecutionSettings(e.provider(), e.cudaDeviceId(), e.cudaMemoryLimitBytes(),
                        e.cudnnExhaustiveSearch(), e.intraOpThreads(), e.interOpThreads()));
        registry = new ModelRegistry(runtime, config.models().orElse(List.of()));
        engine = new InferenceEngine(runtime);
        batcher = new DynamicBatcher(registry, engine, meters, DynamicBatcher.fromConfigs(registry));
        int loaded = registry.refresh();
        LOG.infof("Loaded %d model(s) from %s: %s", loaded, config.modelsDir(), registry.serving().keySet());
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "model-repository-poller");
            t.setDaemon(true);
            return t;
        });
        poller.scheduleWithFixedDelay(this::poll, config.modelsPollSeconds(), config.modelsPollSeconds(),
                TimeUnit.SECONDS);
    }

    private void poll() {
        try {
            registry.refresh();
        } catch (RuntimeException e) {
            LOG.warn("Model repository poll failed", e);
        }
    }

    public ModelRegistry registry() {
        return registry;
    }

    public InferenceEngine engine() {
        return engine;
    }

    /** The per-model dynamic batchers every caller goes through. */
    public DynamicBatcher batcher() {
        return batcher;
    }

    @PreDestroy
    void stop() {
        if (poller != null) {
            poller.shutdownNow();
        }
        if (batcher != null) {
            batcher.close();
        }
        if (registry != null) {
            registry.close();
        }
    }
}
