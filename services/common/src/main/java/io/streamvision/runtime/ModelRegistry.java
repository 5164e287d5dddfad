package io.streamvision.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
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
    private final List<String> names;
    private final Map<String, LoadedModel> serving = new ConcurrentHashMap<>();
    private final Map<String, String> failures = new ConcurrentHashMap<>();
    /** The config digest of each name/version whose load failed, so it is retried only once edited. */
    private final Map<String, String> failedConfigs = new ConcurrentHashMap<>();

    /**
     * @param names models to serve; empty means every model in the repository
     */
    public ModelRegistry(OnnxRuntime runtime, List<String> names) {
        this.runtime = runtime;
        this.names = List.copyOf(names);
    }

    public OnnxRuntime runtime() {
        return runtime;
    }

    /** Loads what is new in the repository; returns the number of versions loaded. */
    public synchronized int refresh() {
        int loaded = 0;
        List<String> wanted = names.isEmpty() ? runtime.repository().modelNames() : names;
        for (String name : wanted) {
            List<Integer> versions = runtime.repository().versions(name);
            if (versions.isEmpty()) {
                failures.put(
                        name,
                        "model "
                                + name
                                + " is not in the repository "
                                + runtime.repository().root());
                continue;
            }
            int newest = versions.get(versions.size() - 1);
            LoadedModel current = serving.get(name);
            if (current != null && current.version() > newest) {
                continue;
            }
            String digest = runtime.repository().configDigest(name, newest);
            boolean edited = current != null && current.version() == newest;
            if (edited && digest.equals(current.configDigest())) {
                continue;
            }
            String key = name + "/" + newest;
            if (digest.equals(failedConfigs.get(key))) {
                continue;
            }
            try {
                LoadedModel model = runtime.load(name, newest);
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
                        name,
                        newest,
                        e.getMessage(),
                        current == null ? "" : "; v" + current.version() + " keeps serving");
            }
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
        List<String> wanted = names.isEmpty() ? runtime.repository().modelNames() : names;
        return !wanted.isEmpty() && wanted.stream().allMatch(serving::containsKey);
    }

    @Override
    public synchronized void close() {
        new ArrayList<>(serving.values()).forEach(LoadedModel::close);
        serving.clear();
    }
}
