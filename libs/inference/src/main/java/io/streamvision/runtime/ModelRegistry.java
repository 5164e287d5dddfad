package io.streamvision.runtime;

import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.rollout.RolloutSettings;
import io.streamvision.rollout.Rollouts;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.function.UnaryOperator;
import org.jboss.logging.Logger;

/**
 * The models a service serves: the newest loadable version of each configured model. A {@link
 * #refresh()} loads versions that appeared in the repository since the last one, and loads the
 * served version again when its {@code config.json} was edited in place (as a shared models volume
 * is updated); a new load replaces the old only once it has loaded and warmed up, and in-flight
 * requests on the old one finish before its session closes. A version that fails to load leaves
 * the old one serving; its error is kept for {@link #failures()}, and it is tried again only once
 * its config changes.
 *
 * <p>Thread-safe.
 */
public final class ModelRegistry implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ModelRegistry.class);

    private final ModelLoader runtime;
    /** The models to serve: fixed when polling, changed by load and unload when explicit. */
    private final Set<String> names = new CopyOnWriteArraySet<>();

    private final boolean explicit;

    /** Settings a load request gave a model, applied to its config until it is loaded without. */
    private final Map<String, UnaryOperator<ModelConfig>> overrides = new ConcurrentHashMap<>();

    /**
     * Models loaded from files a load request gave rather than from the shared repository: a
     * repository of their own, deleted when the model is unloaded or loaded from elsewhere.
     */
    private final Map<String, ModelRepository> staged = new ConcurrentHashMap<>();

    /** Models whose next refresh loads again although their files are unchanged. */
    private final Set<String> forceReload = ConcurrentHashMap.newKeySet();

    private final Map<String, LoadedModel> serving = new ConcurrentHashMap<>();

    /** The candidate version of each model whose rollout compares one with the serving version. */
    private final Map<String, LoadedModel> candidates = new ConcurrentHashMap<>();

    private final Rollouts rollouts = new Rollouts();

    /** Rollout settings given through the admin API, over the models' {@code rollout.json}. */
    private final Map<String, RolloutSettings> rolloutOverrides = new ConcurrentHashMap<>();

    private final Map<String, String> failures = new ConcurrentHashMap<>();
    /** The config digest of each name/version whose load failed, so it is retried only once edited. */
    private final Map<String, String> failedConfigs = new ConcurrentHashMap<>();

    /**
     * @param names models to serve; empty means every model in the repository
     */
    public ModelRegistry(ModelLoader runtime, List<String> names) {
        this(runtime, names, false);
    }

    /**
     * @param explicit models load and unload only on request ({@link #load}, {@link #unload});
     *     {@code names} is the startup list, and empty means none
     */
    public ModelRegistry(ModelLoader runtime, List<String> names, boolean explicit) {
        this.runtime = runtime;
        this.names.addAll(names);
        this.explicit = explicit;
        rollouts.onChange(this::applyRollout);
    }

    /** True when models load and unload only on request. */
    public boolean explicit() {
        return explicit;
    }

    private List<String> wanted() {
        return names.isEmpty() && !explicit ? runtime.repository().modelNames() : List.copyOf(names);
    }

    /**
     * Loads (or reloads, when its files changed) the newest version of {@code name} and serves it
     * from now on; in explicit mode only. Throws with the reason when it cannot be served.
     */
    public synchronized void load(String name) {
        load(name, null);
    }

    /**
     * As {@link #load(String)}, with {@code override} applied to the repository's config (null:
     * the repository's config as it is). A new override, or none after one, loads the version
     * again even when its files did not change.
     */
    public synchronized void load(String name, UnaryOperator<ModelConfig> override) {
        load(name, override, null);
    }

    /**
     * As {@link #load(String, UnaryOperator)}, from {@code source} (a repository holding this
     * model's files alone, owned by the registry from now on) instead of the shared repository;
     * null: the shared repository. A failed load from a new source deletes it and keeps the model
     * where it was.
     */
    public synchronized void load(String name, UnaryOperator<ModelConfig> override, ModelRepository source) {
        if (!explicit) {
            deleteQuietly(source);
            throw new IllegalStateException("models load on request only in explicit model control mode");
        }
        ModelRepository from = source != null ? source : runtime.repository();
        if (!from.modelNames().contains(name)) {
            deleteQuietly(source);
            throw new IllegalArgumentException("model " + name + " is not in the repository " + from.root());
        }
        names.add(name);
        failedConfigs.keySet().removeIf(k -> k.startsWith(name + "/"));
        if (override != null || overrides.containsKey(name) || source != null || staged.containsKey(name)) {
            forceReload.add(name);
        }
        UnaryOperator<ModelConfig> previousOverride = overrides.get(name);
        if (override == null) {
            overrides.remove(name);
        } else {
            overrides.put(name, override);
        }
        ModelRepository previousSource = source != null ? staged.put(name, source) : staged.remove(name);
        LoadedModel before = serving.get(name);
        refresh(name);
        forceReload.remove(name);
        boolean swapped = serving.get(name) != before;
        List<Integer> versions = from.versions(name);
        String failed = versions.isEmpty() ? null : failures.get(name + "/" + versions.get(versions.size() - 1));
        if (swapped) {
            if (previousSource != source) {
                deleteQuietly(previousSource);
            }
        } else if (source != null || previousSource != null) {
            // The new files did not load: the model keeps its old ones, and so does a later reload.
            restore(name, previousSource, previousOverride);
            if (source != null) {
                deleteQuietly(source);
            }
        }
        if (failed != null) {
            throw new IllegalStateException(failed
                    + (serving.containsKey(name)
                            ? "; version " + serving.get(name).version() + " keeps serving"
                            : ""));
        }
        if (!serving.containsKey(name)) {
            String reason = failures.entrySet().stream()
                    .filter(e -> e.getKey().equals(name) || e.getKey().startsWith(name + "/"))
                    .map(Map.Entry::getValue)
                    .findFirst()
                    .orElse("model " + name + " could not be loaded");
            throw new IllegalStateException(reason);
        }
    }

    /**
     * Stops serving {@code name}; in explicit mode only. Requests already running on it finish (it
     * closes when the last one releases it); later ones find it not served. False when it was not
     * served.
     */
    public synchronized boolean unload(String name) {
        if (!explicit) {
            throw new IllegalStateException("models unload on request only in explicit model control mode");
        }
        names.remove(name);
        overrides.remove(name);
        failures.keySet().removeIf(k -> k.equals(name) || k.startsWith(name + "/"));
        LoadedModel old = serving.remove(name);
        LoadedModel candidate = candidates.remove(name);
        if (candidate != null) {
            candidate.close();
        }
        deleteQuietly(staged.remove(name));
        if (old == null) {
            return false;
        }
        LOG.infof("Unloaded %s v%d", name, old.version());
        old.close();
        return true;
    }

    private void restore(String name, ModelRepository source, UnaryOperator<ModelConfig> override) {
        if (source == null) {
            staged.remove(name);
        } else {
            staged.put(name, source);
        }
        if (override == null) {
            overrides.remove(name);
        } else {
            overrides.put(name, override);
        }
    }

    /** The repository {@code name} is loaded from: its staged files, or the shared repository. */
    public ModelRepository repositoryOf(String name) {
        return staged.getOrDefault(name, runtime.repository());
    }

    private static void deleteQuietly(ModelRepository source) {
        if (source == null) {
            return;
        }
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.walk(source.root())) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            LOG.warnf("Could not delete the staged model files in %s: %s", source.root(), e.getMessage());
        }
    }

    public ModelLoader runtime() {
        return runtime;
    }

    /** Loads what is new in the repository; returns the number of versions loaded. */
    public synchronized int refresh() {
        int loaded = 0;
        for (String name : wanted()) {
            loaded += refresh(name);
        }
        return loaded;
    }

    /** Loads what is new for one model; 1 when a version was loaded. */
    private int refresh(String name) {
        int loaded = 0;
        ModelRepository repository = repositoryOf(name);
        List<Integer> versions = repository.versions(name);
        if (versions.isEmpty()) {
            failures.put(name, "model " + name + " is not in the repository " + repository.root());
            return 0;
        }
        Rollouts.State rollout = readRollout(name, repository);
        int newest = rollout == null ? versions.get(versions.size() - 1) : rollout.servingVersion();
        if (!versions.contains(newest)) {
            failures.put(
                    name + "/" + newest,
                    "rollout.json names version " + newest + ", which is not in "
                            + repository.root().resolve(name));
            return 0;
        }
        LoadedModel current = serving.get(name);
        LoadedModel candidate = candidates.get(name);
        if (rollout != null
                && candidate != null
                && candidate.version() == newest
                && (current == null || current.version() != newest)) {
            // Promoted: the candidate, loaded and warm, takes over.
            candidates.remove(name);
            serving.put(name, candidate);
            LOG.infof("Serving %s v%d (promoted from candidate)", name, newest);
            if (current != null) {
                current.close();
            }
            return 1 + refreshCandidate(name, repository, rollout, versions);
        }
        if (rollout == null && current != null && current.version() > newest && !forceReload.contains(name)) {
            return refreshCandidate(name, repository, null, versions);
        }
        String digest = repository.configDigest(name, newest);
        boolean edited = current != null && current.version() == newest;
        if (edited && digest.equals(current.configDigest()) && !forceReload.remove(name)) {
            return refreshCandidate(name, repository, rollout, versions);
        }
        String key = name + "/" + newest;
        if (digest.equals(failedConfigs.get(key))) {
            return refreshCandidate(name, repository, rollout, versions);
        }
        try {
            LoadedModel model =
                    runtime.load(repository, name, newest, overrides.getOrDefault(name, UnaryOperator.identity()));
            LoadedModel old = serving.put(name, model);
            failures.remove(name);
            failures.remove(key);
            failedConfigs.remove(key);
            LOG.infof(
                    "Serving %s v%d on %s%s",
                    name, newest, model.provider(), edited ? " (its config.json changed)" : "");
            if (old != null) {
                old.close();
            }
            loaded++;
        } catch (RuntimeException e) {
            failures.put(key, e.getMessage());
            failedConfigs.put(key, digest);
            LOG.errorf(
                    "Could not load %s v%d (%s)%s",
                    name, newest, e.getMessage(), current == null ? "" : "; v" + current.version() + " keeps serving");
        }
        return loaded + refreshCandidate(name, repository, rollout, versions);
    }

    /**
     * The model's rollout as its {@code rollout.json} says now (null: it has none). A file that
     * cannot be read keeps the rollout as it was and says why in {@link #failures()}.
     */
    private Rollouts.State readRollout(String name, ModelRepository repository) {
        RolloutSettings set = rolloutOverrides.get(name);
        if (set != null) {
            return rollouts.update(name, set, "api-" + digest(set));
        }
        java.nio.file.Path file = repository.root().resolve(name).resolve("rollout.json");
        if (!java.nio.file.Files.isRegularFile(file)) {
            failures.remove(name + "/rollout");
            return rollouts.update(name, null, null);
        }
        String digest;
        try {
            digest = ModelRepository.sha256(file);
        } catch (java.io.IOException e) {
            return rollouts.state(name);
        }
        Rollouts.State known = rollouts.state(name);
        if (known != null && known.digest().equals(digest)) {
            return known;
        }
        try {
            RolloutSettings settings = RolloutSettings.read(file);
            failures.remove(name + "/rollout");
            return rollouts.update(name, settings, digest);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().equals(failures.put(name + "/rollout", e.getMessage()))) {
                LOG.errorf("Model %s: %s; the rollout stays as it was", name, e.getMessage());
            }
            return known;
        }
    }

    /** Loads, swaps or drops the model's candidate version as its rollout says; 1 when one loaded. */
    private int refreshCandidate(
            String name, ModelRepository repository, Rollouts.State rollout, List<Integer> versions) {
        Integer wanted = rollout == null ? null : rollout.activeCandidate();
        LoadedModel old = candidates.get(name);
        if (wanted == null) {
            if (old != null) {
                candidates.remove(name);
                LOG.infof("Candidate %s v%d unloaded", name, old.version());
                old.close();
            }
            return 0;
        }
        String key = name + "/" + wanted;
        if (!versions.contains(wanted)) {
            failures.put(
                    key,
                    "rollout.json names candidate version " + wanted + ", which is not in "
                            + repository.root().resolve(name));
            return 0;
        }
        String digest = repository.configDigest(name, wanted);
        if (old != null && old.version() == wanted && digest.equals(old.configDigest())) {
            return 0;
        }
        if (digest.equals(failedConfigs.get(key))) {
            return 0;
        }
        try {
            LoadedModel model = runtime.load(repository, name, wanted, UnaryOperator.identity());
            candidates.put(name, model);
            failures.remove(key);
            LOG.infof(
                    "Candidate %s v%d loaded beside v%d (%s)",
                    name,
                    wanted,
                    rollout.servingVersion(),
                    rollout.percent() > 0 ? "canary, " + rollout.percent() + " % of keys" : "shadow");
            if (old != null) {
                old.close();
            }
            return 1;
        } catch (RuntimeException e) {
            failures.put(key, e.getMessage());
            failedConfigs.put(key, digest);
            LOG.errorf("Could not load candidate %s v%d (%s)", name, wanted, e.getMessage());
            rollouts.rollback(name, "candidate v" + wanted + " did not load: " + e.getMessage());
            return 0;
        }
    }

    /** Loads what the model's rollout needs now (after a step, a promotion or a rollback). */
    private synchronized void applyRollout(String name) {
        if (wanted().contains(name)) {
            refresh(name);
        }
    }

    /**
     * Sets a model's rollout through the admin API, over its {@code rollout.json} (null: back to the
     * file), and loads what it needs. Lasts until the process ends: the file is the lasting way.
     */
    public synchronized void setRollout(String name, RolloutSettings settings) {
        if (!serving.containsKey(name)) {
            throw new IllegalArgumentException(notServed(name, ""));
        }
        if (settings == null) {
            rolloutOverrides.remove(name);
        } else {
            rolloutOverrides.put(name, settings);
        }
        refresh(name);
    }

    private static String digest(RolloutSettings settings) {
        try {
            byte[] json = io.streamvision.model.ModelConfig.JSON.writeValueAsBytes(settings);
            return java.util.HexFormat.of()
                    .formatHex(
                            java.security.MessageDigest.getInstance("SHA-256").digest(json));
        } catch (java.io.IOException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The rollouts of the served models. */
    public Rollouts rollouts() {
        return rollouts;
    }

    /** True when {@code version} of the model is loaded, as its serving version or its candidate. */
    public boolean loaded(String name, String version) {
        LoadedModel s = serving.get(name);
        LoadedModel c = candidates.get(name);
        return (s != null && version.equals(Integer.toString(s.version())))
                || (c != null && version.equals(Integer.toString(c.version())));
    }

    /** The candidate version a model's rollout compares, or null (not retained: for its config only). */
    public LoadedModel candidate(String name) {
        return candidates.get(name);
    }

    /**
     * The serving version of a model, retained: the caller must {@link LoadedModel#release()} it.
     * Empty when the model (or that version) is not served.
     */
    public Optional<LoadedModel> acquire(String name, String version) {
        while (true) {
            LoadedModel model = serving.get(name);
            if (model == null) {
                return Optional.empty();
            }
            if (version != null && !version.isEmpty() && !version.equals(Integer.toString(model.version()))) {
                model = candidates.get(name);
                if (model == null || !version.equals(Integer.toString(model.version()))) {
                    return Optional.empty();
                }
            }
            if (model.retain()) {
                return Optional.of(model);
            }
        }
    }

    /**
     * What {@code use} makes of the serving version of a model (as {@link #acquire} finds it), held
     * for the call and released after it; empty when the model (or that version) is not served.
     */
    public <T> Optional<T> withModel(String name, String version, java.util.function.Function<LoadedModel, T> use) {
        Optional<LoadedModel> acquired = acquire(name, version);
        if (acquired.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(use.apply(acquired.get()));
        } finally {
            acquired.get().release();
        }
    }

    /**
     * Why {@code name} (at {@code version}, when not empty) cannot be acquired, naming what is
     * served.
     */
    public String notServed(String name, String version) {
        return (version == null || version.isEmpty()
                        ? "model '" + name + "'"
                        : "model '" + name + "' version " + version)
                + " is not served; serving "
                + new TreeSet<>(serving.keySet());
    }

    /** The serving version of one model, or null (not retained: for its config only). */
    public LoadedModel current(String name) {
        return serving.get(name);
    }

    /** Served models by name, copied (not retained: for metadata only). */
    public Map<String, LoadedModel> serving() {
        return Map.copyOf(serving);
    }

    /** Load failures, by model or model/version. */
    public Map<String, String> failures() {
        return Map.copyOf(failures);
    }

    /** True when every configured model has a serving version. */
    public boolean allLoaded() {
        List<String> wanted = wanted();
        return (explicit || !wanted.isEmpty()) && wanted.stream().allMatch(serving::containsKey);
    }

    @Override
    public synchronized void close() {
        rollouts.close();
        new ArrayList<>(serving.values()).forEach(LoadedModel::close);
        new ArrayList<>(candidates.values()).forEach(LoadedModel::close);
        serving.clear();
        candidates.clear();
        staged.values().forEach(ModelRegistry::deleteQuietly);
        staged.clear();
    }
}
