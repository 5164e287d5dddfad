package io.streamvision.runtime;

import io.streamvision.model.ModelConfig;
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

    private final OnnxRuntime runtime;
    /** The models to serve: fixed when polling, changed by load and unload when explicit. */
    private final Set<String> names = new CopyOnWriteArraySet<>();

    private final boolean explicit;

    /** Settings a load request gave a model, applied to its config until it is loaded without. */
    private final Map<String, UnaryOperator<ModelConfig>> overrides = new ConcurrentHashMap<>();

    /** Models whose next refresh loads again although their files are unchanged. */
    private final Set<String> forceReload = ConcurrentHashMap.newKeySet();

    private final Map<String, LoadedModel> serving = new ConcurrentHashMap<>();
    private final Map<String, String> failures = new ConcurrentHashMap<>();
    /** The config digest of each name/version whose load failed, so it is retried only once edited. */
    private final Map<String, String> failedConfigs = new ConcurrentHashMap<>();

    /**
     * @param names models to serve; empty means every model in the repository
     */
    public ModelRegistry(OnnxRuntime runtime, List<String> names) {
        this(runtime, names, false);
    }

    /**
     * @param explicit models load and unload only on request ({@link #load}, {@link #unload});
     *     {@code names} is the startup list, and empty means none
     */
    public ModelRegistry(OnnxRuntime runtime, List<String> names, boolean explicit) {
        this.runtime = runtime;
        this.names.addAll(names);
        this.explicit = explicit;
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
        if (!explicit) {
            throw new IllegalStateException("models load on request only in explicit model control mode");
        }
        if (!runtime.repository().modelNames().contains(name)) {
            throw new IllegalArgumentException("model " + name + " is not in the repository "
                    + runtime.repository().root());
        }
        names.add(name);
        failedConfigs.keySet().removeIf(k -> k.startsWith(name + "/"));
        if (override != null || overrides.containsKey(name)) {
            forceReload.add(name);
        }
        if (override == null) {
            overrides.remove(name);
        } else {
            overrides.put(name, override);
        }
        refresh(name);
        forceReload.remove(name);
        List<Integer> versions = runtime.repository().versions(name);
        String failed = versions.isEmpty() ? null : failures.get(name + "/" + versions.get(versions.size() - 1));
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
        if (old == null) {
            return false;
        }
        LOG.infof("Unloaded %s v%d", name, old.version());
        old.close();
        return true;
    }

    public OnnxRuntime runtime() {
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
        List<Integer> versions = runtime.repository().versions(name);
        if (versions.isEmpty()) {
            failures.put(
                    name,
                    "model "
                            + name
                            + " is not in the repository "
                            + runtime.repository().root());
            return 0;
        }
        int newest = versions.get(versions.size() - 1);
        LoadedModel current = serving.get(name);
        if (current != null && current.version() > newest) {
            return 0;
        }
        String digest = runtime.repository().configDigest(name, newest);
        boolean edited = current != null && current.version() == newest;
        if (edited && digest.equals(current.configDigest()) && !forceReload.remove(name)) {
            return 0;
        }
        String key = name + "/" + newest;
        if (digest.equals(failedConfigs.get(key))) {
            return 0;
        }
        try {
            LoadedModel model = runtime.load(name, newest, overrides.getOrDefault(name, UnaryOperator.identity()));
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
        return loaded;
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
                return Optional.empty();
            }
            if (model.retain()) {
                return Optional.of(model);
            }
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
        new ArrayList<>(serving.values()).forEach(LoadedModel::close);
        serving.clear();
    }
}
