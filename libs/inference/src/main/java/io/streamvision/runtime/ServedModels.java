package io.streamvision.runtime;

import io.streamvision.model.ModelRepository;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The model lifecycle of every service that serves models: loads the configured models when it
 * starts, polls the repository for new versions and swaps them in without dropping a request
 * ({@link ModelRegistry}), runs the service's own follow-up after each poll (the captioning service
 * rebuilds its decoder there), and says whether every model is served.
 *
 * <p>Thread-safe.
 */
public final class ServedModels implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ServedModels.class);

    private final ModelRegistry registry;
    private final ScheduledExecutorService poller;
    private final List<Runnable> afterPoll = new CopyOnWriteArrayList<>();

    private ServedModels(ModelRegistry registry, int pollSeconds) {
        this.registry = registry;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "model-repository-poller");
            t.setDaemon(true);
            return t;
        });
        if (pollSeconds > 0) {
            poller.scheduleWithFixedDelay(this::poll, pollSeconds, pollSeconds, TimeUnit.SECONDS);
        }
    }

    /**
     * Loads {@code names} (every model in the repository when empty) and starts polling. A model
     * that fails to load is reported by {@link ModelRegistry#failures()}, not thrown.
     */
    public static ServedModels start(ModelServingConfig config, List<String> names) {
        return start(config, names, rollouts -> {});
    }

    /**
     * As {@link #start(ModelServingConfig, List)}, with {@code beforeLoad} given the registry's
     * rollouts before the first model loads (to restore their state and listen to their events).
     */
    public static ServedModels start(
            ModelServingConfig config,
            List<String> names,
            java.util.function.Consumer<io.streamvision.rollout.Rollouts> beforeLoad) {
        ModelLoader runtime = new ModelLoader(
                new ModelRepository(Path.of(config.modelsDir())),
                config.execution().settings());
        boolean explicit = "explicit".equalsIgnoreCase(config.modelControlMode());
        if (!explicit && !"poll".equalsIgnoreCase(config.modelControlMode())) {
            throw new IllegalArgumentException(
                    "model-control-mode is poll or explicit, not '" + config.modelControlMode() + "'");
        }
        ModelRegistry registry = new ModelRegistry(runtime, names, explicit);
        beforeLoad.accept(registry.rollouts());
        int loaded = registry.refresh();
        LOG.infof(
                "Loaded %d model(s) from %s: %s%s",
                loaded,
                config.modelsDir(),
                registry.serving().keySet(),
                explicit ? " (explicit model control: more load on request, no polling)" : "");
        return new ServedModels(registry, explicit ? 0 : config.modelsPollSeconds());
    }

    /**
     * Explicit model control: loads {@code name}'s newest version (again, when loaded, so edited
     * files are read), then runs the follow-ups. Throws with the reason when it cannot be served.
     */
    public synchronized void load(String name) {
        load(name, null);
    }

    /** As {@link #load(String)}, with settings applied to the repository's config (null: none). */
    public synchronized void load(
            String name, java.util.function.UnaryOperator<io.streamvision.model.ModelConfig> override) {
        load(name, override, null);
    }

    /**
     * As {@link #load(String, java.util.function.UnaryOperator)}, from {@code source}: a repository
     * holding this model's files alone, which the registry owns from now on ({@link
     * ModelRegistry#load(String, java.util.function.UnaryOperator, ModelRepository)}).
     */
    public synchronized void load(
            String name,
            java.util.function.UnaryOperator<io.streamvision.model.ModelConfig> override,
            ModelRepository source) {
        registry.load(name, override, source);
        afterPoll.forEach(ServedModels::runQuietly);
    }

    /**
     * Explicit model control: waits until {@code drained} says the model's queued work is done (at
     * most {@code timeout}), then stops serving it and runs the follow-ups. False when it was not
     * served.
     */
    public synchronized boolean unload(String name, java.util.function.BooleanSupplier drained, Duration timeout)
            throws InterruptedException {
        if (!registry.explicit()) {
            throw new IllegalStateException("models unload on request only in explicit model control mode");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!drained.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        boolean was = registry.unload(name);
        afterPoll.forEach(ServedModels::runQuietly);
        return was;
    }

    private static void runQuietly(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            LOG.warn("Action after a model load or unload failed", e);
        }
    }

    /**
     * Checks the repository now, then runs the follow-ups; what the poller does on its schedule.
     */
    public void poll() {
        try {
            registry.refresh();
        } catch (RuntimeException e) {
            LOG.warn("Model repository poll failed", e);
        }
        for (Runnable action : afterPoll) {
            try {
                action.run();
            } catch (RuntimeException e) {
                LOG.warn("Action after the model repository poll failed", e);
            }
        }
    }

    /** Runs {@code action} after every poll (and once now), on the poller's thread from then on. */
    public void afterEachPoll(Runnable action) {
        afterPoll.add(action);
        action.run();
    }

    public ModelRegistry registry() {
        return registry;
    }

    public ModelLoader runtime() {
        return registry.runtime();
    }

    /** True when every configured model has a serving version. */
    public boolean ready() {
        return registry.allLoaded();
    }

    @Override
    public void close() {
        poller.shutdownNow();
        registry.close();
    }
}
